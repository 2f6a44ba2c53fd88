//! Shared set-up of the feedback, sync and HQ tests: a real HQ server on 127.0.0.1 port 0 in
//! this process (plain HTTP, or TLS with a certificate generated for the test), and real kiosk
//! stores with real key files.
//!
//! Every test HQ signs its answers; unless its options name another key it signs with this
//! process's test HQ key ([`hq_key`]), which every kiosk made by [`kiosk`] trusts.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fleet;
pub mod postgres;
pub mod tls;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use shelftalk::catalog::{Minor, Product};
use shelftalk::config::Config;
use shelftalk::crypto::keyfiles::{KeyDir, Keyring};
use shelftalk::feedback::simulate::{self, PopularityPicks, SimOptions};
use shelftalk::hq::key::HqKey;
use shelftalk::hq::pg::{PgHq, PgOptions};
use shelftalk::hq::store::{HqStore, SqliteHq};
use shelftalk::hq::{self, ServeOptions};
use shelftalk::store::{catalog, Store};
use shelftalk::sync::client::Backoff;
use shelftalk::sync::SyncContext;

/// Which database a test's HQ keeps its data in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// A throwaway cluster started for the test ([`postgres::PgCluster`]).
    Postgres,
}

/// Runs an `async fn(Backend)` test once per backend: `name::sqlite` and `name::postgres`.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(super::sync_support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(super::sync_support::Backend::Postgres).await
            }
        }
    };
}

/// This process's test HQ key: generated once, in memory.
pub fn hq_key() -> Arc<HqKey> {
    static KEY: OnceLock<Arc<HqKey>> = OnceLock::new();
    Arc::clone(KEY.get_or_init(|| Arc::new(HqKey::ephemeral(&shelftalk::crypto::rng()).unwrap())))
}

/// A running HQ.
pub struct Hq {
    pub store: Arc<dyn HqStore>,
    /// The SQLite file (unused on PostgreSQL).
    pub db: std::path::PathBuf,
    pub url: String,
    pub token: String,
    /// The public key (hex) HQ signs its answers with.
    pub public_key: String,
    /// With TLS: the test CA's certificate (PEM), which kiosks pin as `hq_ca_file`.
    pub ca_file: Option<PathBuf>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), hq::HqError>>>,
    /// Declared last: dropped (stopped, removed) after the store's connections.
    pub pg: Option<postgres::PgCluster>,
}

impl Hq {
    pub async fn start(dir: &Path) -> Hq {
        Self::start_with(dir, ServeOptions::default()).await
    }

    pub async fn start_with(dir: &Path, opts: ServeOptions) -> Hq {
        let db = dir.join("hq.db");
        let store = Arc::new(SqliteHq::open(&db).unwrap());
        Self::serve(store, db, None, opts).await
    }

    /// HQ on `backend`; `None` when it is PostgreSQL and PostgreSQL is not installed (the skip is
    /// said on stderr; `SHELFTALK_REQUIRE_POSTGRES=1` makes it a failure).
    pub async fn start_on(backend: Backend, dir: &Path, test: &str) -> Option<Hq> {
        Self::start_on_with(backend, dir, test, ServeOptions::default()).await
    }

    pub async fn start_on_with(
        backend: Backend,
        dir: &Path,
        test: &str,
        opts: ServeOptions,
    ) -> Option<Hq> {
        match backend {
            Backend::Sqlite => Some(Self::start_with(dir, opts).await),
            Backend::Postgres => {
                let cluster = postgres::PgCluster::start(test)?;
                let store = Arc::new(PgHq::connect(&cluster.url(), &PgOptions::default()).unwrap());
                Some(Self::serve(store, dir.join("hq.db"), Some(cluster), opts).await)
            }
        }
    }

    /// HQ on `backend` over TLS, with a CA and a certificate for 127.0.0.1 generated into
    /// `dir/hq-tls` ([`tls::TestPki`]); its URL is `https://127.0.0.1:PORT` and
    /// [`Hq::ca_file`] the CA to pin.
    pub async fn start_tls_on(backend: Backend, dir: &Path, test: &str) -> Option<Hq> {
        Self::start_tls_on_with(backend, dir, test, ServeOptions::default()).await
    }

    /// [`Hq::start_tls_on`] with options (their `tls` is replaced).
    pub async fn start_tls_on_with(
        backend: Backend,
        dir: &Path,
        test: &str,
        opts: ServeOptions,
    ) -> Option<Hq> {
        let pki = tls::TestPki::generate(&dir.join("hq-tls"), "HQ");
        let opts = ServeOptions {
            tls: Some(shelftalk::hq::tls::server_config(&pki.cert_file, &pki.key_file).unwrap()),
            ..opts
        };
        let mut hq = Self::start_on_with(backend, dir, test, opts).await?;
        hq.ca_file = Some(pki.ca_file);
        Some(hq)
    }

    async fn serve(
        store: Arc<dyn HqStore>,
        db: std::path::PathBuf,
        pg: Option<postgres::PgCluster>,
        mut opts: ServeOptions,
    ) -> Hq {
        // Before any test builds its HTTP client (hq::serve installs it too, but in its task).
        shelftalk::crypto::install_tls_provider();
        let public_key = opts.answer_key.get_or_insert_with(hq_key).public_hex();
        let scheme = if opts.tls.is_some() { "https" } else { "http" };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let now = (opts.clock)();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(hq::serve(listener, Arc::clone(&store), opts, async {
            let _ = stopped.await;
        }));
        let token = hq::create_token(store.as_ref(), "test", now, 3650).unwrap();
        Hq {
            store,
            db,
            url,
            token,
            public_key,
            ca_file: None,
            stop: Some(stop),
            task: Some(task),
            pg,
        }
    }

    pub fn enroll(&self, config: &Config, keys: &Keyring) {
        let key = shelftalk::hq::parse_public_key(&keys.device_public_hex()).unwrap();
        self.store
            .enroll(&config.kiosk_id, &config.store_id, &key, 0)
            .unwrap();
    }

    /// The fleet's totals as the HQ report states them.
    pub fn totals(&self) -> shelftalk::feedback::cells::Counts {
        hq::report::build(self.store.as_ref(), None, None, &[])
            .unwrap()
            .totals
    }

    /// (batches, kiosk-day roll-up rows) stored, read straight from the database (SQLite file or
    /// `psql`): what a batch leaves behind.
    pub fn rows(&self) -> (u64, u64) {
        if let Some(pg) = &self.pg {
            let out = pg.psql(
                "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM rollup_kiosk_day)",
            );
            let (b, n) = out.trim().split_once('|').unwrap();
            return (b.parse().unwrap(), n.parse().unwrap());
        }
        let c = rusqlite::Connection::open(&self.db).unwrap();
        let b = c
            .query_row("SELECT count(*) FROM batches", [], |r| r.get(0))
            .unwrap();
        let n = c
            .query_row("SELECT count(*) FROM rollup_kiosk_day", [], |r| r.get(0))
            .unwrap();
        (b, n)
    }

    /// Every batch document exactly as it arrived on the wire.
    pub fn wire_documents(&self) -> Vec<Vec<u8>> {
        if let Some(pg) = &self.pg {
            let out = pg.psql("SELECT encode(document, 'hex') FROM batches ORDER BY arrival");
            return out
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| shelftalk::crypto::from_hex(l).unwrap())
                .collect();
        }
        let c = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = c
            .prepare("SELECT document FROM batches ORDER BY rowid")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Command-line arguments naming this HQ's database (`--db FILE` or `--database-url URL`).
    pub fn db_args(&self) -> Vec<String> {
        match &self.pg {
            Some(pg) => vec!["--database-url".into(), pg.url()],
            None => vec!["--db".into(), self.db.to_str().unwrap().into()],
        }
    }

    /// (report_seq, document, signature) of every audit report HQ kept, in report order, read
    /// straight from the database.
    pub fn audit_reports(&self) -> Vec<(u64, Vec<u8>, Vec<u8>)> {
        if let Some(pg) = &self.pg {
            let out = pg.psql(
                "SELECT report_seq || '|' || encode(document, 'hex') || '|' || \
                 encode(signature, 'hex') FROM audit_reports ORDER BY report_seq",
            );
            return out
                .lines()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let mut parts = l.split('|');
                    let seq = parts.next().unwrap().parse().unwrap();
                    let mut hex = || shelftalk::crypto::from_hex(parts.next().unwrap()).unwrap();
                    let doc = hex();
                    (seq, doc, hex())
                })
                .collect();
        }
        let c = rusqlite::Connection::open(&self.db).unwrap();
        let mut stmt = c
            .prepare(
                "SELECT report_seq, document, signature FROM audit_reports ORDER BY report_seq",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap().unwrap();
        }
    }
}

/// A kiosk of `hq`: [`kiosk`] with HQ's URL, its CA pinned when it serves TLS and its answer
/// key trusted.
pub fn kiosk_for(dir: &Path, id: &str, hq: &Hq) -> (Config, Arc<Keyring>) {
    let (mut config, keys) = kiosk(dir, id, &hq.url);
    config.hq_ca_file = hq.ca_file.clone();
    config.hq_public_key = Some(hq.public_key.clone());
    (config, keys)
}

/// A kiosk data dir with keys and a small catalog; returns its config (trusting the test HQ key,
/// [`hq_key`]) and keys.
pub fn kiosk(dir: &Path, id: &str, hq_url: &str) -> (Config, Arc<Keyring>) {
    let config = Config {
        data_dir: dir.join(id),
        kiosk_id: id.into(),
        store_id: "store-7".into(),
        hq_url: hq_url.into(),
        hq_public_key: Some(hq_key().public_hex()),
        ..Config::default()
    };
    let keys = KeyDir::new(config.key_dir())
        .init(&shelftalk::crypto::rng())
        .unwrap();
    let store = Store::open(&config.db_path()).unwrap();
    for (i, (cat, price)) in [
        ("Footwear", 4_999),
        ("Footwear", 12_999),
        ("Outdoor", 2_499),
        ("Outdoor", 19_999),
        ("Kitchen", 899),
        ("Kitchen", 5_999),
    ]
    .iter()
    .enumerate()
    {
        let p = Product {
            sku: format!("SKU-{i}"),
            name: format!("Product {i}"),
            brand: Some("Acme".into()),
            category: vec![cat.to_string()],
            price: Minor(*price),
            list_price: None,
            description: String::new(),
            tags: vec![],
        };
        catalog::upsert(store.conn(), &p, catalog::Origin::Catalog, 0).unwrap();
    }
    (config, Arc::new(keys))
}

/// Runs simulated sessions on the kiosk's store.
pub fn simulate(config: &Config, sessions: usize, seed: u64, now: i64, days: u32) {
    let mut store = Store::open(&config.db_path()).unwrap();
    let mut source = PopularityPicks::load(store.conn(), seed).unwrap();
    let categories = source.categories();
    simulate::run(
        store.conn_mut(),
        &mut source,
        &categories,
        &SimOptions {
            sessions,
            seed,
            now,
            days,
            window_secs: config.conversion_window_secs,
            picks_per_session: 3,
            holdout_share: config.experiment.holdout_share,
        },
    )
    .unwrap();
}

pub fn context(config: &Config, keys: &Arc<Keyring>) -> SyncContext {
    SyncContext::with_backoff(
        config.clone(),
        Arc::clone(keys),
        Backoff {
            attempts: 2,
            base: std::time::Duration::from_millis(5),
            cap: std::time::Duration::from_millis(20),
        },
    )
    .unwrap()
}

pub fn status(config: &Config) -> shelftalk::sync::SyncStatus {
    let store = Store::open(&config.db_path()).unwrap();
    shelftalk::sync::status(store.conn(), config).unwrap()
}

/// A fixed "now" well after the simulated days.
pub const NOW: i64 = 1_790_000_000;

/// A fresh Ed25519 device key, as a kiosk's `keys init` makes.
pub fn device_key() -> ring::signature::Ed25519KeyPair {
    let pkcs8 =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap()
}

/// A version-1 batch of `kiosk` in `store` with one cell (yesterday of day 20,000, `SKU-1`,
/// style `value`, segment `all`, 6 people, k = 5) carrying `counts` and `ipw`.
pub fn one_cell_batch(
    (kiosk, store): (&str, &str),
    seq: u64,
    counts: shelftalk::feedback::cells::Counts,
    ipw: shelftalk::feedback::cells::Ipw,
) -> shelftalk::wire::BatchDocument {
    use shelftalk::feedback::cells::{Cell, Day};
    shelftalk::wire::BatchDocument {
        version: shelftalk::wire::BATCH_VERSION,
        batch_id: uuid::Uuid::new_v4().to_string(),
        kiosk_id: kiosk.into(),
        store_id: store.into(),
        seq,
        created_day: Day(20_000),
        software: "test".into(),
        k_anonymity: 5,
        noise_epsilon: 0.0,
        dropped: shelftalk::wire::Dropped::default(),
        cells: vec![Cell {
            day: Day(19_999),
            sku: "SKU-1".into(),
            style: "value".into(),
            segment: "all".into(),
            content_kind: "blurb".into(),
            arm: "personalised".into(),
            sessions: 6,
            counts,
            ipw,
        }],
    }
}
