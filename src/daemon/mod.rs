//! The composition root: `shelftalk run`, `shelftalk console` and `shelftalk demo`.
//!
//! [`shell`] hands `keys rotate` and `shopper erase` from a shell to the running daemon.
//!
//! `run` wires the modules together as tokio tasks around one shared [`Daemon`]:
//! - the shopper screen on the terminal ([`kiosk::run_screen`]), fed by a key reader thread, a
//!   4 Hz tick and the copy worker's streamed answers;
//! - the copy worker and the model loader ([`copier`]): template copy until the model is ready;
//! - the control socket `<data_dir>/control.sock` for the technician console ([`handler`]);
//! - the retention sweep every [`SWEEP_EVERY`], the POS inbox ([`inbox`], when configured) and
//!   the periodic feedback sync (failures are logged, never fatal);
//! - systemd readiness ([`gate`]): `READY=1` only after the health gate passed, watchdog pings
//!   from the screen's tick, `STOPPING=1` at shutdown; a failed gate stops the daemon (non-zero).
//!
//! Shutdown order on SIGINT/SIGTERM: the screen loop stops taking input, the terminal is
//! restored, the control socket and background tasks stop, the copy worker finishes its running
//! generation (bounded by the engine budget) and stops, the WAL is checkpointed, the socket file
//! is removed; then `run` returns `Ok` and the process exits 0. A panic restores the terminal
//! through `ui::term`'s panic hook.
//!
//! Invariants:
//! - The screen's effects, the console handler and the background tasks reach SQLite through the
//!   one [`Vault`] behind a mutex; each effect's writes are complete statements, so stopping
//!   between two effects leaves the database consistent. The copy worker keeps its own
//!   connection to the same file for the copy cache only, and the health gate opens one for its
//!   checks (WAL mode: a reader never waits for the writer; a busy write is logged, and the copy
//!   is served without the cache).
//! - Feedback the database does not take (a full disk, a failing card) waits in memory in the
//!   daemon's [`Spool`] and is written, in order, with the next event or on a screen tick every
//!   [`crate::feedback::spool::RETRY_EVERY`]; the console's Status tab shows what waits, what was
//!   dropped (the spool full) and the storage alarm. At shutdown a last try is made and anything
//!   still unwritten is logged as lost, with its count.
//! - Nothing here logs or keeps a loyalty number or PIN (see [`kiosk`] and [`handler`]).
//! - The console's PIN lockout is rebuilt from the audit log when the control socket starts
//!   ([`control::PinGate`]), so restarting the daemon does not lift it.
//! - The store-level recommender models are refitted after every import (catalog or till events,
//!   by the CLI or the POS inbox) while no session is on screen ([`Daemon::refresh_models`],
//!   checked every [`REFIT_EVERY`]); a session keeps the models it started with.

pub mod console;
pub mod copier;
pub mod demo;
pub mod gate;
pub mod handler;
pub mod inbox;
mod input;
pub mod kiosk;
pub mod logs;
pub mod mapping;
pub mod shell;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use crate::audit::{AuditError, AuditLog};
use crate::config::{Config, ConfigError};
use crate::control::{self, ControlError, PinGate};
use crate::copy::{BrandList, Currency};
use crate::crypto::keyfiles::KeyError;
use crate::feedback::spool::{self, Spool, SpoolCounts};
use crate::personalise::{self, StoreModel};
use crate::profile::{ProfileError, Vault};
use crate::recommend::BanditError;
use crate::store::StoreError;
use crate::ui::term::TermError;

/// How often the retention sweep runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How long shutdown waits for a running generation.
const COPY_STOP_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error("copy setup: {0}")]
    Copy(#[source] crate::content::ContentError),
    #[error("style bandit: {0}")]
    Bandit(#[from] BanditError),
    #[error(transparent)]
    TermSetup(#[from] TermError),
    #[error("terminal: {0}")]
    Terminal(#[source] std::io::Error),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    #[error(transparent)]
    Shell(#[from] shell::ShellError),
    /// The text names every failed health check with its reason (a summary the gate composes
    /// from several checks, not one underlying error).
    #[error(
        "{} holds the {set_up_for} demo; for the {asked} demo pass another --data-dir \
         (default {})",
        data_dir.display(),
        demo::default_data_dir(*asked).display()
    )]
    DemoLocale {
        data_dir: PathBuf,
        set_up_for: crate::locale::Locale,
        asked: crate::locale::Locale,
    },
    #[error("health gate failed: {0}")]
    Unhealthy(String),
}

/// Seconds since the Unix epoch.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The control socket of a data dir.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// Everything the screen and the console share.
pub struct Daemon {
    config: RwLock<Config>,
    /// The config file in use, re-read for `reload config` and the PIN.
    config_file: Option<PathBuf>,
    vault: Mutex<Vault>,
    /// The store models, refitted after an import (catalog, till events) between sessions.
    model: RwLock<Arc<StoreModel>>,
    /// The imports the models were fitted after: (count, latest time) of the `imports` table.
    fitted_after: Mutex<(i64, i64)>,
    pub(crate) copier: copier::Copier,
    pub(crate) currency: Currency,
    /// The screen's and console's words: the catalog of the configured `locale`.
    pub(crate) messages: &'static crate::i18n::Messages,
    started: Instant,
    audit: AuditLog,
    /// Feedback not written yet (see the module docs).
    feedback: Mutex<Spool>,
}

impl Daemon {
    /// Opens the vault, loads the recommender's store models and starts the copy worker (the
    /// model loads in the background). Copy answers for the screen go to `answers`.
    pub fn open(
        config: Config,
        config_file: Option<PathBuf>,
        answers: tokio::sync::mpsc::UnboundedSender<crate::ui::kiosk::Input>,
    ) -> Result<Arc<Self>, DaemonError> {
        logs::set_zone(config.store_zone());
        let vault = Vault::open(&config)?;
        let model = StoreModel::load(&vault, config.recommend.clone(), now_unix())?;
        let currency = config.currency.clone();
        let messages = crate::i18n::messages(config.locale);
        let spec = copier::CopierSpec {
            config: config.clone(),
            brands: BrandList::from_products(model.catalog.products()),
        };
        let warm = warm_items(&vault, &model, &config)?;
        let copier = copier::Copier::start(spec, warm, answers).map_err(DaemonError::Copy)?;
        tracing::info!(products = model.catalog.len(), "daemon started");
        Ok(Arc::new(Self {
            audit: AuditLog::in_dir(&config.data_dir),
            config: RwLock::new(config),
            config_file,
            fitted_after: Mutex::new(imports_mark(&vault)),
            vault: Mutex::new(vault),
            model: RwLock::new(Arc::new(model)),
            copier,
            currency,
            messages,
            started: Instant::now(),
            feedback: Mutex::new(Spool::default()),
        }))
    }

    /// The effective configuration.
    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The store models in use (a snapshot: a refit replaces them for later callers).
    pub fn model(&self) -> Arc<StoreModel> {
        Arc::clone(
            &self
                .model
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Refits the store models when an import (catalog or till events, by the CLI or the POS
    /// inbox) happened since the last fit, so new prices, new products and new statistics are
    /// used without a restart. Call only while no session is on screen. Returns whether it did.
    pub fn refresh_models(&self) -> Result<bool, DaemonError> {
        let (mark, model) = {
            let vault = self.vault();
            let mark = imports_mark(&vault);
            if mark
                == *self
                    .fitted_after
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            {
                return Ok(false);
            }
            let config = self.config();
            (
                mark,
                StoreModel::load(&vault, config.recommend.clone(), now_unix())?,
            )
        };
        let products = model.catalog.len();
        *self
            .model
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(model);
        *self
            .fitted_after
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = mark;
        tracing::info!(products, "store models refitted after an import");
        Ok(true)
    }

    pub(crate) fn vault(&self) -> MutexGuard<'_, Vault> {
        self.vault
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn spool(&self) -> MutexGuard<'_, Spool> {
        self.feedback
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a feedback event after whatever waits in memory; a database that takes no
    /// writes (a full disk) leaves it waiting (see the module docs).
    pub fn record_feedback(&self, event: spool::Event) {
        let vault = self.vault();
        self.spool()
            .record(event, Instant::now(), |e| e.write(vault.store.conn()));
    }

    /// Writes waiting feedback if a retry is due at `now` (the screen's tick).
    pub fn retry_feedback(&self, now: Instant) {
        if !self.spool().retry_due(now) {
            return;
        }
        let vault = self.vault();
        self.spool().flush(now, |e| e.write(vault.store.conn()));
    }

    /// What waits in memory, what was dropped or refused.
    pub fn feedback_counts(&self) -> SpoolCounts {
        self.spool().counts()
    }

    /// The copy worker (model load state, counts, recent copy).
    pub fn copier(&self) -> &copier::Copier {
        &self.copier
    }

    /// Serves the control socket until `shutdown` turns true.
    pub async fn serve_control(
        self: &Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let path = socket_path(&self.config().data_dir);
        // The PIN guard as the audit log left it: a restart does not lift a lockout.
        let gate = PinGate::open(self.audit.clone())?;
        if let Some(for_secs) = gate.guard().locked_for(now_unix()) {
            tracing::warn!(for_secs, "console still locked after repeated wrong PINs");
        }
        let listener = control::bind(&path)?;
        let handler: Arc<dyn control::Handler> = Arc::clone(self) as Arc<dyn control::Handler>;
        control::serve(
            listener,
            path,
            handler,
            Arc::new(Mutex::new(gate)),
            shutdown,
        )
        .await;
        Ok(())
    }

    /// Stops the copy worker and checkpoints the database.
    pub fn stop(&self) {
        self.copier.stop(COPY_STOP_WAIT);
        {
            let vault = self.vault();
            let mut spool = self.spool();
            spool.flush(Instant::now(), |e| e.write(vault.store.conn()));
            let c = spool.counts();
            if c.waiting > 0 {
                tracing::error!(
                    lost = c.waiting,
                    error = c.last_error.as_deref().unwrap_or(""),
                    "feedback events still in memory at shutdown could not be written and are lost"
                );
            }
        }
        if let Err(e) = self.vault().store.checkpoint() {
            tracing::warn!(error = %e, "checkpoint at shutdown failed");
        }
        let _ = std::fs::remove_file(socket_path(&self.config().data_dir));
    }
}

/// The idle warm-up plan: `copy_warm_top` most viewed products × `copy_warm_segments` most
/// common segments (plus `all`) × every style; empty when the cache is off.
fn warm_items(
    vault: &Vault,
    model: &StoreModel,
    config: &Config,
) -> Result<Vec<copier::WarmItem>, DaemonError> {
    if config.copy_cache_ttl().is_none() || config.copy_warm_top == 0 {
        return Ok(Vec::new());
    }
    Ok(personalise::warm_plan(
        vault,
        model,
        (
            config.copy_warm_top as usize,
            config.copy_warm_segments as usize,
        ),
        copier::WARM_SEED,
        now_unix(),
    )?)
}

/// Resolves on SIGINT or SIGTERM.
async fn signalled() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon still stops when killed; wait forever here.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// `shelftalk run`: the kiosk until SIGINT/SIGTERM.
pub async fn run(config: Config, config_file: Option<PathBuf>) -> Result<(), DaemonError> {
    let (answers_tx, answers_rx) = tokio::sync::mpsc::unbounded_channel();
    let daemon = Daemon::open(config, config_file, answers_tx)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);

    let control = {
        let d = Arc::clone(&daemon);
        let rx = stop_rx.clone();
        tokio::spawn(async move {
            if let Err(e) = d.serve_control(rx).await {
                tracing::error!(error = %e, "control socket unavailable");
            }
        })
    };
    let sweep = tokio::spawn(sweep_periodically(Arc::clone(&daemon)));
    let refit = tokio::spawn(refit_periodically(Arc::clone(&daemon)));
    let inbox = daemon.config().pos_inbox.clone().map(|dir| {
        let every = Duration::from_secs(daemon.config().pos_poll_secs);
        tracing::info!(inbox = %dir.display(), "watching the POS inbox");
        tokio::spawn(inbox::watch(Arc::clone(&daemon), dir, every))
    });
    let sync = start_sync(&daemon.config());

    let notifier = Arc::new(gate::notifier());
    let (why_tx, why_rx) = tokio::sync::oneshot::channel();
    let loader = Arc::clone(&daemon);
    let settled = move || loader.copier().load_state() != copier::LoadState::Loading;
    let until = gate::until_stop(daemon.config(), Arc::clone(&notifier), signalled(), settled);
    let shutdown = async move {
        let _ = why_tx.send(until.await);
    };
    let (pinger, copier_daemon) = (Arc::clone(&notifier), Arc::clone(&daemon));
    let mut hung_logged = false;
    let watchdog = move |now| {
        // A hung copy worker withholds the ping too: systemd restarts the daemon.
        if copier_daemon.copier().stuck(now) {
            if !std::mem::replace(&mut hung_logged, true) {
                tracing::error!("copy worker hung; withholding the watchdog ping");
            }
            return;
        }
        hung_logged = false;
        if let Err(e) = pinger.watchdog(now) {
            tracing::warn!(error = %e, "watchdog ping not sent");
        }
    };
    let result = kiosk::run_screen(Arc::clone(&daemon), answers_rx, shutdown, watchdog).await;
    tracing::info!("shutting down");
    if let Err(e) = notifier.stopping() {
        tracing::warn!(error = %e, "systemd notification not sent");
    }
    let _ = stop_tx.send(true);
    sweep.abort();
    refit.abort();
    if let Some(i) = inbox {
        i.abort();
    }
    if let Some(s) = sync {
        s.abort();
    }
    let _ = control.await;
    let stopper = Arc::clone(&daemon);
    let _ = tokio::task::spawn_blocking(move || stopper.stop()).await;
    result?;
    match why_rx.await {
        Ok(gate::Stop::Unhealthy(failed)) => Err(DaemonError::Unhealthy(failed)),
        _ => Ok(()),
    }
}

/// The imports so far: how many, and the latest time (changes with every new import).
fn imports_mark(vault: &Vault) -> (i64, i64) {
    vault
        .store
        .conn()
        .query_row(
            "SELECT count(*), coalesce(max(at), 0) FROM imports",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, 0))
}

/// How often the daemon looks for an import to refit its store models after.
pub const REFIT_EVERY: Duration = Duration::from_secs(15);

/// Refits the store models after imports, between sessions.
async fn refit_periodically(daemon: Arc<Daemon>) {
    let mut every = tokio::time::interval(REFIT_EVERY);
    loop {
        every.tick().await;
        if !daemon.copier().idle() {
            continue;
        }
        let d = Arc::clone(&daemon);
        match tokio::task::spawn_blocking(move || d.refresh_models()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "store models not refitted"),
            Err(e) => tracing::warn!(error = %e, "refit task failed"),
        }
    }
}

async fn sweep_periodically(daemon: Arc<Daemon>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        let d = Arc::clone(&daemon);
        let swept = tokio::task::spawn_blocking(move || {
            let days = d.config().retention_days;
            d.vault().sweep(now_unix(), days)
        })
        .await;
        match swept {
            Ok(Ok(r)) => tracing::info!(erased = r.erased, "retention sweep"),
            Ok(Err(e)) => tracing::warn!(error = %e, "retention sweep failed"),
            Err(e) => tracing::warn!(error = %e, "retention sweep task failed"),
        }
    }
}

fn start_sync(config: &Config) -> Option<tokio::task::JoinHandle<()>> {
    let keys = match crate::crypto::keyfiles::KeyDir::new(config.key_dir()).load() {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "feedback sync off: keys unavailable");
            return None;
        }
    };
    match crate::sync::SyncContext::new(config.clone(), Arc::new(keys)) {
        Ok(ctx) => Some(tokio::spawn(crate::sync::run_periodic(
            Arc::new(ctx),
            now_unix,
            std::future::pending::<()>(),
        ))),
        Err(e) => {
            tracing::warn!(error = %e, "feedback sync off");
            None
        }
    }
}
