//! The copy worker: one thread that answers the screen's copy requests a group at a time (a
//! session's picks, written together: the engine decodes them in one batch), streaming tokens
//! back as kiosk inputs, serving and filling the copy cache, and warming that cache while
//! no shopper is at the screen; and a loader thread that brings up the language model in the
//! background.
//!
//! Invariants:
//! - Copy is cached by (model sha256, prompt pack, style, sku, coarse segment key) through
//!   [`crate::copy::cache`]: only model copy that passed the guardrails is stored, never anything
//!   finer than the segment key. With `copy_cache_ttl_secs = 0` nothing is read or written.
//! - The copy content (model + prompt pack, [`crate::content`]) is watched while idle: a new
//!   generation is loaded in the background and switched in only while no session is on screen,
//!   so one session's copy always comes from one model and pack. A generation that fails to load
//!   leaves the serving one in place.
//! - A piece of copy is bounded by the engine's budget (two attempts, then a template), so a
//!   worker busy with one piece for longer than [`Copier::stuck`]'s limit is hung; the daemon
//!   then stops the systemd watchdog pings and is restarted.
//! - Warm-up runs only while no session is on screen and the model is ready, one blurb per idle
//!   poll; a session that begins cancels the blurb in flight at its next token, so a shopper's
//!   request waits for at most one token of warm-up. A finished plan runs again
//!   after [`WARM_EVERY`] (entries still fresh cost one lookup) or when the console asks.
//! - Until the model is loaded (or when it fails to load) copy comes from a template-only
//!   [`CopyService`](crate::copy::CopyService): the screen never waits for the model. The load state is reported only to
//!   the console ([`Copier::load_state`]).
//! - Groups run in submission order, one at a time; the jobs of a group are written together
//!   ([`CopyDesk::write_together`]: cache lookups and stores on the worker thread, model writes
//!   on scoped threads). A job whose session is no longer on screen, or whose deadline has passed
//!   before its group starts (the screen has put up the template itself), is skipped; a job
//!   whose session leaves the screen while its group runs is cancelled at its next token and
//!   dropped ([`Copier::withdrawn`]), so the next shopper waits for no copy of the last. Every
//!   other job that runs ends with exactly one `CopyDone`.
//! - A job is due by its deadline (the request's moment plus the engine's budget): the worker
//!   never sends model copy completed after it, and copy cut short by it (tokens may have
//!   streamed) is answered at once with the template, flagged [`FellBack::Budget`] so the screen
//!   reports it. Each template the screen puts up for lack of time is counted once, by reason
//!   ([`Copier::fell_back`], [`Copier::fallbacks`]).
//! - The latencies of the last [`LATENCY_SAMPLES`] screen jobs (request to `CopyDone`) are kept
//!   for the console and the soak ([`Copier::latency`]).
//! - After a guardrail restart the streamed text of the failed attempt is not extended; the final
//!   `CopyDone` replaces it with served copy.
//! - The content log keeps at most [`CONTENT_CAPACITY`] items and holds catalog-derived copy only
//!   (no shopper data reaches a prompt, so none reaches the copy). It holds every piece of copy a
//!   screen request ended with: the worker's answer, or the template the screen put up by itself
//!   when the worker never answered ([`Copier::note_shown_template`]).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use crate::catalog::Product;
use crate::config::Config;
use crate::content::{self, Content, ContentError};
use crate::copy::service::{CopyOrder, CopyProgress, Fallback};
use crate::copy::{BrandList, CopyOutcome};
use crate::personalise::{CopyDesk, LoadedModel};
use crate::store::Store;
use crate::ui::console::CopyLatency as Latency;
use crate::ui::kiosk::{FellBack, Input, RequestId, SessionId};

/// Copy items kept for the console's Content tab.
pub const CONTENT_CAPACITY: usize = 200;
/// Screen jobs whose latency is kept.
pub const LATENCY_SAMPLES: usize = 1_000;
/// No session on screen.
const NO_SESSION: u64 = u64::MAX;
/// The least [`Copier::stop`] waits for an engine to stop, even when the running job took all
/// of its wait: one step of decoding, with room to spare.
const ENGINE_STOP_LEAST: Duration = Duration::from_secs(2);
/// How often an idle worker looks for warm-up work.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// A finished warm-up plan runs again after this long.
pub const WARM_EVERY: Duration = Duration::from_secs(3600);
/// Sampling seed of warm-up copy (as `shelftalk copy warm`).
pub const WARM_SEED: u32 = 42;

/// Where the language model is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "error", rename_all = "snake_case")]
pub enum LoadState {
    Loading,
    Ready,
    Failed(String),
}

impl LoadState {
    pub fn describe(&self) -> String {
        match self {
            Self::Loading => "loading (serving template copy)".into(),
            Self::Ready => "ready".into(),
            Self::Failed(e) => format!("failed: {e} (serving template copy)"),
        }
    }
}

/// One piece of copy the kiosk served, for the Content tab.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentRecord {
    /// UTC `HH:MM:SS`.
    pub at: String,
    pub sku: String,
    pub style: String,
    /// `model` or `template`.
    pub source: String,
    pub verdict: String,
    pub text: String,
    pub elapsed_ms: f64,
}

/// One copy request from the screen.
#[derive(Debug, Clone)]
pub struct Job {
    pub session: SessionId,
    pub request: RequestId,
    /// The prompt and the cache key come from the order alone (coarse segment, brand-fan flag).
    pub order: CopyOrder,
    /// When the screen asked, and when the copy is due (the screen falls back to the template
    /// then); `None`: only the engine's budget bounds it.
    pub asked: Instant,
    pub deadline: Option<Instant>,
}

/// One blurb of the idle warm-up plan (written with [`WARM_SEED`]).
pub type WarmItem = CopyOrder;

/// Where the copy cache lives (`None`: the cache is off).
#[derive(Debug, Clone)]
pub struct CacheSpec {
    pub db_path: Option<PathBuf>,
}

/// What the copier needs besides its inputs: the config (engine, currency, guardrails, cache,
/// content pointer) and the catalog's brands for the brand check.
#[derive(Debug, Clone)]
pub struct CopierSpec {
    pub config: Config,
    pub brands: BrandList,
}

struct Shared {
    spec: CopierSpec,
    /// Templates and the model serving now; the shelf's desk.
    desk: Arc<CopyDesk>,
    /// A newer generation, loaded, waiting for a moment without a session.
    pending: Mutex<Option<Arc<LoadedModel>>>,
    /// The content generation a load was last started for.
    requested: AtomicU64,
    /// Name and sha256 of the content chosen at start, shown until a model is loaded.
    initial: (String, String),
    load: Mutex<LoadState>,
    content: Mutex<VecDeque<ContentRecord>>,
    last_tokens_per_sec: Mutex<Option<f64>>,
    current_session: AtomicU64,
    cache_lookups: AtomicU64,
    cache_hits: AtomicU64,
    /// Warm-up blurbs done (served from the cache, generated or fallen back) since start.
    warmed: AtomicU64,
    /// When the worker started the piece of copy it is writing now; `None` between pieces.
    busy_since: Mutex<Option<Instant>>,
    warm_restart: AtomicBool,
    fell_back_budget: AtomicU64,
    fell_back_deadline: AtomicU64,
    /// Screen jobs dropped while their group ran because their session left the screen.
    withdrawn: AtomicU64,
    /// Latencies of the latest screen jobs, in milliseconds, and how many were answered.
    latencies: Mutex<(VecDeque<f64>, u64)>,
}

impl Shared {
    fn idle(&self) -> bool {
        self.current_session.load(Ordering::SeqCst) == NO_SESSION
    }
}

/// The warm-up plan's cursor: which item is next, and when the last pass finished.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Warm {
    len: usize,
    next: usize,
    finished_at: Option<Instant>,
}

impl Warm {
    fn new(len: usize) -> Self {
        Self {
            len,
            next: 0,
            finished_at: None,
        }
    }

    /// The plan index to warm now, if any: items in order, then nothing for [`WARM_EVERY`],
    /// then the plan again.
    fn take(&mut self, now: Instant) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        if let Some(done) = self.finished_at {
            if now.saturating_duration_since(done) < WARM_EVERY {
                return None;
            }
            self.restart();
        }
        let index = self.next;
        self.next += 1;
        if self.next == self.len {
            self.finished_at = Some(now);
        }
        Some(index)
    }

    fn restart(&mut self) {
        self.next = 0;
        self.finished_at = None;
    }
}

/// Handle to the copy worker.
pub struct Copier {
    /// Size of the warm-up plan; `None` when the cache is off.
    warm_entries: Option<usize>,
    jobs: Mutex<Option<mpsc::Sender<Vec<Job>>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl Copier {
    /// Starts the model loader and the worker. Copy is answered into `answers`; while idle the
    /// worker warms the cache with `warm` and watches the content pointer.
    pub fn start(
        spec: CopierSpec,
        warm: Vec<WarmItem>,
        answers: UnboundedSender<Input>,
    ) -> Result<Self, ContentError> {
        let config = &spec.config;
        let content = content::active(config).or_else(|e| {
            tracing::error!(error = %e, "content pointer unusable; serving the built-in model and pack");
            content::resolve(config, &content::Pointer::default())
        })?;
        let desk = Arc::new(CopyDesk::templates(config, &content, spec.brands.clone()));
        let cache = CacheSpec {
            db_path: config.copy_cache_ttl().map(|_| config.db_path()),
        };
        let initial = (
            content.manifest.name.clone(),
            content.manifest.sha256.clone(),
        );
        let shared = Arc::new(Shared {
            desk,
            pending: Mutex::new(None),
            requested: AtomicU64::new(content.generation),
            initial,
            load: Mutex::new(LoadState::Loading),
            content: Mutex::new(VecDeque::new()),
            last_tokens_per_sec: Mutex::new(None),
            current_session: AtomicU64::new(NO_SESSION),
            cache_lookups: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            warmed: AtomicU64::new(0),
            busy_since: Mutex::new(None),
            warm_restart: AtomicBool::new(false),
            fell_back_budget: AtomicU64::new(0),
            fell_back_deadline: AtomicU64::new(0),
            withdrawn: AtomicU64::new(0),
            latencies: Mutex::new((VecDeque::new(), 0)),
            spec,
        });
        spawn_load(&shared, content);
        let warm_entries = cache.db_path.as_ref().map(|_| warm.len());
        let (tx, rx) = mpsc::channel::<Vec<Job>>();
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("shelftalk-copy".into())
            .spawn(move || work(&worker_shared, &rx, &answers, &cache, &warm));
        let worker = match worker {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, "cannot spawn the copy worker");
                None
            }
        };
        Ok(Self {
            warm_entries,
            jobs: Mutex::new(Some(tx)),
            worker: Mutex::new(worker),
            shared,
        })
    }

    /// Queues copy requests to be written together (a session's picks: the engine decodes them
    /// in one batch, so all of them stream at once).
    pub fn submit(&self, group: Vec<Job>) {
        if group.is_empty() {
            return;
        }
        let jobs = lock(&self.jobs);
        if let Some(tx) = jobs.as_ref() {
            if tx.send(group).is_err() {
                tracing::warn!("copy worker gone; request dropped");
            }
        }
    }

    /// The session on screen (`None` when idle): queued jobs of other sessions are skipped.
    pub fn set_session(&self, session: Option<SessionId>) {
        self.shared
            .current_session
            .store(session.map_or(NO_SESSION, |s| s.0), Ordering::SeqCst);
    }

    /// Runs the warm-up plan again from its start at the next idle moment (entries still fresh
    /// cost one lookup each). Returns the plan's size, `None` when the cache is off.
    pub fn warm_again(&self) -> Option<usize> {
        self.shared.warm_restart.store(true, Ordering::SeqCst);
        self.warm_entries
    }

    /// Share of the screen's copy requests answered from the cache, once any were cacheable.
    pub fn cache_hit_rate(&self) -> Option<f64> {
        let lookups = self.shared.cache_lookups.load(Ordering::Relaxed);
        let hits = self.shared.cache_hits.load(Ordering::Relaxed);
        (lookups > 0).then(|| hits as f64 / lookups as f64)
    }

    /// Whether the worker has been writing one piece of copy for longer than any healthy
    /// generation takes: four budgets (two attempts with room to spare), at least a minute.
    pub fn stuck(&self, now: Instant) -> bool {
        let budget = Duration::from_millis(self.shared.spec.config.engine.budget_ms);
        let limit = (budget * 4).max(Duration::from_secs(60));
        lock(&self.shared.busy_since)
            .is_some_and(|since| now.saturating_duration_since(since) > limit)
    }

    /// Counts a template the screen put up for lack of time (once per piece of copy).
    pub fn fell_back(&self, reason: FellBack) {
        let counter = match reason {
            FellBack::Budget => &self.shared.fell_back_budget,
            FellBack::Deadline => &self.shared.fell_back_deadline,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Logs a template the screen put up by itself (the worker never answered that request) in
    /// the content log, so the Content tab holds every piece of copy the shopper saw.
    pub fn note_shown_template(&self, sku: &str, style: &str, text: String) {
        let waited = self.shared.spec.config.engine.budget_ms as f64
            + crate::ui::kiosk::COPY_GRACE.as_secs_f64() * 1e3;
        push_content(
            &self.shared,
            ContentRecord {
                at: now_hms(),
                sku: sku.to_string(),
                style: style.to_string(),
                source: "template".into(),
                verdict: "pass".into(),
                text,
                elapsed_ms: waited,
            },
        );
    }

    /// Templates put up for lack of time since start, by reason (`budget`, `deadline`).
    pub fn fallbacks(&self) -> Vec<(String, u64)> {
        [
            (FellBack::Budget, &self.shared.fell_back_budget),
            (FellBack::Deadline, &self.shared.fell_back_deadline),
        ]
        .into_iter()
        .map(|(r, n)| (r.as_str().to_string(), n.load(Ordering::Relaxed)))
        .collect()
    }

    /// Screen jobs cancelled since start because their session left the screen while their
    /// group was being written.
    pub fn withdrawn(&self) -> u64 {
        self.shared.withdrawn.load(Ordering::Relaxed)
    }

    /// Latency of the latest screen jobs (`None` before the first).
    pub fn latency(&self) -> Option<Latency> {
        let (recent, answered) = &*lock(&self.shared.latencies);
        let mut sorted: Vec<f64> = recent.iter().copied().collect();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted.get(i).copied().unwrap_or(0.0)
        };
        (!sorted.is_empty()).then(|| Latency {
            answered: *answered,
            samples: sorted.len(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: sorted.last().copied().unwrap_or(0.0),
        })
    }

    /// Warm-up blurbs done since start (cached, or not cacheable because they fell back to a
    /// template).
    pub fn warmed(&self) -> u64 {
        self.shared.warmed.load(Ordering::Relaxed)
    }

    /// Copy right now on the calling thread (self-test), through the same service and content
    /// log as the screen's requests but never the cache: it shows what the model writes now.
    pub fn write_now(&self, order: &CopyOrder) -> CopyOutcome {
        let outcome = self.shared.desk.write_uncached(order, None, &mut |_| {});
        note(&self.shared, &order.product, &outcome);
        outcome
    }

    /// The copy desk the worker writes at (the shelf's desk: templates for the attract loop).
    pub fn desk(&self) -> Arc<CopyDesk> {
        Arc::clone(&self.shared.desk)
    }

    /// Whether no shopper session is on screen (background work may take the database then).
    pub fn idle(&self) -> bool {
        self.shared.idle()
    }

    pub fn load_state(&self) -> LoadState {
        lock(&self.shared.load).clone()
    }

    /// Name and sha256 of the model serving (or, until one is loaded, the one chosen at start),
    /// and the content generation.
    pub fn model(&self) -> (String, String, u64) {
        match self.shared.desk.model() {
            Some(l) => (l.name.clone(), l.sha256.clone(), l.generation),
            None => {
                let (name, sha) = self.shared.initial.clone();
                (name, sha, self.shared.requested.load(Ordering::SeqCst))
            }
        }
    }

    /// Verdict and serving counts of the templates and the serving model (since it was loaded).
    pub fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared.desk.counts()
    }

    /// Generation speed of the latest model copy.
    pub fn tokens_per_sec(&self) -> Option<f64> {
        *lock(&self.shared.last_tokens_per_sec)
    }

    /// Recent copy, newest last.
    pub fn content(&self) -> Vec<ContentRecord> {
        lock(&self.shared.content).iter().cloned().collect()
    }

    /// Stops taking jobs, waits up to `wait` for the running one to finish (a generation is
    /// bounded by the engine's budget), then stops the engines of the serving and the pending
    /// model ([`EngineHandle::stop`]) in what is left of `wait`, so no llama.cpp thread is
    /// decoding when the process exits.
    ///
    /// [`EngineHandle::stop`]: crate::copy::EngineHandle::stop
    pub fn stop(&self, wait: Duration) {
        self.set_session(None);
        lock(&self.jobs).take();
        let deadline = Instant::now() + wait;
        if let Some(worker) = lock(&self.worker).take() {
            while !worker.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if worker.is_finished() {
                let _ = worker.join();
            }
        }
        let pending = lock(&self.shared.pending).clone();
        for model in self.shared.desk.model().into_iter().chain(pending) {
            if let Some(engine) = model.service.engine() {
                let left = deadline.saturating_duration_since(Instant::now());
                if !engine.stop(left.max(ENGINE_STOP_LEAST)) {
                    tracing::warn!(
                        model = %model.name,
                        "the language model's worker did not stop in time"
                    );
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn set_load(shared: &Shared, state: LoadState) {
    *lock(&shared.load) = state;
}

/// Loads `content` on a thread of its own. The first model goes straight into service (the
/// screen has only templates before it); a later generation waits in `pending` for the worker
/// to switch it in between sessions.
fn spawn_load(shared: &Arc<Shared>, content: Content) {
    let loader = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name("shelftalk-model-load".into())
        .spawn(move || load(&loader, content));
    if let Err(e) = spawned {
        set_load(
            shared,
            LoadState::Failed(format!("cannot spawn loader: {e}")),
        );
    }
}

fn load(shared: &Shared, content: Content) {
    let started = Instant::now();
    tracing::info!(model = %content.manifest.name, path = %content.model_path.display(),
        pack = %content.pack.id(), generation = content.generation, "loading the language model");
    let loaded = match LoadedModel::load(&shared.spec.config, shared.spec.brands.clone(), &content)
    {
        Ok(loaded) => Arc::new(loaded),
        Err(e) => {
            tracing::error!(error = %e, generation = content.generation, "model load failed");
            if shared.desk.model().is_none() {
                set_load(shared, LoadState::Failed(e.to_string()));
            }
            return;
        }
    };
    tracing::info!(
        secs = started.elapsed().as_secs_f64(),
        generation = content.generation,
        kernels = loaded
            .service
            .engine()
            .map_or("", |e| e.info().kernels.as_str()),
        "language model ready"
    );
    // The first model goes straight into service; a later one waits for an idle moment.
    let mut pending = lock(&shared.pending);
    if shared.desk.model().is_none() {
        shared.desk.serve(loaded);
        set_load(shared, LoadState::Ready);
    } else {
        *pending = Some(loaded);
    }
}

/// While idle: switches in a loaded newer generation, or starts loading one the pointer names.
fn follow_content(shared: &Arc<Shared>) {
    if let Some(next) = lock(&shared.pending).take() {
        tracing::info!(model = %next.name, generation = next.generation, "copy content switched");
        shared.desk.serve(next);
        set_load(shared, LoadState::Ready);
        return;
    }
    let config = &shared.spec.config;
    let pointer = match content::pointer(config) {
        Ok(p) => p,
        Err(e) => {
            tracing::debug!(error = %e, "content pointer unreadable; keeping the serving content");
            return;
        }
    };
    if pointer.generation <= shared.requested.load(Ordering::SeqCst) {
        return;
    }
    shared.requested.store(pointer.generation, Ordering::SeqCst);
    match content::resolve(config, &pointer) {
        Ok(content) => spawn_load(shared, content),
        Err(e) => tracing::error!(error = %e, generation = pointer.generation,
            "new content unusable; keeping the serving content"),
    }
}

fn now_hms() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!("{:02}:{:02}:{:02}", now.hour(), now.minute(), now.second())
}

fn note(shared: &Shared, product: &Product, outcome: &CopyOutcome) {
    if let Some(t) = &outcome.timings {
        *lock(&shared.last_tokens_per_sec) = Some(t.tokens_per_sec);
    }
    let source = match outcome.source {
        crate::copy::CopySource::Model => "model",
        crate::copy::CopySource::Template => "template",
        crate::copy::CopySource::Cache => "cache",
    };
    push_content(
        shared,
        ContentRecord {
            at: now_hms(),
            sku: product.sku.clone(),
            style: outcome.style.as_str().to_string(),
            source: source.to_string(),
            verdict: outcome.verdict.code().to_string(),
            text: outcome.text.clone(),
            elapsed_ms: outcome.elapsed_ms,
        },
    );
}

fn push_content(shared: &Shared, record: ContentRecord) {
    let mut content = lock(&shared.content);
    content.push_back(record);
    while content.len() > CONTENT_CAPACITY {
        content.pop_front();
    }
}

/// The worker loop: screen jobs as they come, warm-up while idle, until the copier stops.
fn work(
    shared: &Arc<Shared>,
    jobs: &mpsc::Receiver<Vec<Job>>,
    answers: &UnboundedSender<Input>,
    cache: &CacheSpec,
    plan: &[WarmItem],
) {
    let store = match cache.db_path.as_deref().map(Store::open).transpose() {
        Ok(store) => store,
        Err(e) => {
            tracing::warn!(error = %e, "copy cache unavailable; every blurb is generated fresh");
            None
        }
    };
    let mut warm = Warm::new(if store.is_some() { plan.len() } else { 0 });
    let mut warm_started: Option<Instant> = None;
    loop {
        match jobs.recv_timeout(IDLE_POLL) {
            Ok(group) => busy(shared, || {
                run_group(shared, store.as_ref(), group, answers);
            }),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if shared.warm_restart.swap(false, Ordering::SeqCst) {
                    warm.restart();
                }
                if !shared.idle() {
                    continue;
                }
                follow_content(shared);
                let Some(store) = store.as_ref().filter(|_| shared.desk.caches()) else {
                    continue;
                };
                let Some(index) = warm.take(Instant::now()) else {
                    continue;
                };
                let started = *warm_started.get_or_insert_with(Instant::now);
                busy(shared, || warm_one(shared, store, &plan[index]));
                shared.warmed.fetch_add(1, Ordering::Relaxed);
                if warm.finished_at.is_some() {
                    tracing::info!(
                        entries = plan.len(),
                        secs = started.elapsed().as_secs_f64(),
                        "copy cache warmed"
                    );
                    warm_started = None;
                }
            }
        }
    }
}

/// Runs `write` with the worker marked busy (see [`Copier::stuck`]).
fn busy(shared: &Shared, write: impl FnOnce()) {
    *lock(&shared.busy_since) = Some(Instant::now());
    write();
    *lock(&shared.busy_since) = None;
}

/// Writes one warm-up blurb through the cache; a shopper arriving cancels it at its next token
/// (it is written again on the plan's next pass).
fn warm_one(shared: &Shared, store: &Store, item: &WarmItem) {
    let shopper_arrived = |_: usize| !shared.idle();
    let written = shared.desk.write_together(
        Some(store.conn()),
        &[(item, None)],
        super::now_unix(),
        &shopper_arrived,
        &|_, _| {},
        &mut |_, _| {},
    );
    if let Err(e) = written {
        tracing::warn!(error = %e, sku = %item.product.sku, "warm-up blurb not cached");
    }
}

/// Whether `job` is still wanted: its session is on screen and its deadline has not passed
/// (at the deadline the screen stops waiting and puts up the template itself).
fn wanted(shared: &Shared, job: &Job) -> bool {
    if shared.current_session.load(Ordering::SeqCst) != job.session.0 {
        return false;
    }
    if job.deadline.is_some_and(|d| Instant::now() >= d) {
        tracing::debug!("copy job past its deadline before it started; skipped");
        return false;
    }
    true
}

/// Writes a group of screen jobs together (a session's picks: one batch for the engine),
/// streaming each one's tokens and answering each with one `CopyDone` as it completes.
fn run_group(
    shared: &Shared,
    store: Option<&Store>,
    group: Vec<Job>,
    answers: &UnboundedSender<Input>,
) {
    let jobs: Vec<Job> = group.into_iter().filter(|j| wanted(shared, j)).collect();
    if jobs.is_empty() {
        return;
    }
    // After a guardrail restart a job's streamed text is not extended (`CopyDone` replaces it).
    let restarted: Vec<AtomicBool> = jobs.iter().map(|_| AtomicBool::new(false)).collect();
    let on_progress = |i: usize, p: CopyProgress<'_>| match p {
        CopyProgress::Token(t) if !restarted[i].load(Ordering::Relaxed) => {
            let _ = answers.send(Input::CopyToken {
                request: jobs[i].request,
                text: t.to_string(),
            });
        }
        CopyProgress::Token(_) => {}
        CopyProgress::Restart => restarted[i].store(true, Ordering::Relaxed),
    };
    // A job whose session left the screen while its group ran is dropped at its next token.
    let withdrawn = |i: usize| shared.current_session.load(Ordering::SeqCst) != jobs[i].session.0;
    let answered = std::cell::Cell::new(false);
    let mut on_done = |i: usize, outcome: CopyOutcome| {
        answered.set(true);
        if outcome.fallback == Some(Fallback::Withdrawn) {
            tracing::debug!("copy withdrawn: its session left the screen");
            shared.withdrawn.fetch_add(1, Ordering::Relaxed);
            return;
        }
        answer(shared, &jobs[i], outcome, answers);
    };
    let orders: Vec<(&CopyOrder, Option<Instant>)> =
        jobs.iter().map(|j| (&j.order, j.deadline)).collect();
    let desk = &shared.desk;
    let cache = store.filter(|_| desk.caches()).map(Store::conn);
    if cache.is_some() {
        shared
            .cache_lookups
            .fetch_add(jobs.len() as u64, Ordering::Relaxed);
    }
    let now = super::now_unix();
    let Err(e) = desk.write_together(cache, &orders, now, &withdrawn, &on_progress, &mut on_done)
    else {
        return;
    };
    if answered.get() {
        tracing::warn!(error = %e, "copy cache failed; the copy was served but not stored");
        return;
    }
    // Nothing streamed yet: the same jobs without the cache.
    tracing::warn!(error = %e, "copy cache failed; writing without it");
    let _ = desk.write_together(None, &orders, now, &withdrawn, &on_progress, &mut on_done);
}

/// Answers `job` with `outcome`: the content log, the latency sample, then `CopyDone`.
fn answer(shared: &Shared, job: &Job, outcome: CopyOutcome, answers: &UnboundedSender<Input>) {
    let fell_back = (outcome.fallback == Some(Fallback::Budget)).then_some(FellBack::Budget);
    if fell_back.is_some() {
        tracing::info!(sku = %job.order.product.sku, "copy out of time; the template is served");
    }
    if outcome.source == crate::copy::CopySource::Cache {
        shared.cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    note(shared, &job.order.product, &outcome);
    // Counted before the answer goes out: whoever sees the answer sees it counted.
    {
        let mut latencies = lock(&shared.latencies);
        latencies
            .0
            .push_back(job.asked.elapsed().as_secs_f64() * 1e3);
        latencies.1 += 1;
        while latencies.0.len() > LATENCY_SAMPLES {
            latencies.0.pop_front();
        }
    }
    let _ = answers.send(Input::CopyDone {
        request: job.request,
        text: outcome.text,
        fell_back,
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    #[test]
    fn warm_plan_runs_once_then_waits_then_repeats() {
        let t0 = Instant::now();
        let mut warm = Warm::new(2);
        assert_eq!(warm.take(t0), Some(0));
        assert_eq!(warm.take(t0), Some(1));
        assert_eq!(warm.take(t0), None, "finished: nothing until WARM_EVERY");
        assert_eq!(warm.take(t0 + WARM_EVERY / 2), None);
        assert_eq!(warm.take(t0 + WARM_EVERY), Some(0), "then the plan again");
        assert_eq!(warm.take(t0 + WARM_EVERY), Some(1));
        assert_eq!(warm.take(t0 + WARM_EVERY), None);
    }

    /// Through the public API of a copier serving templates (no model): a job whose deadline
    /// passed before the worker took it is skipped (the screen puts up the template itself), a
    /// job in time is answered once with the template; fallbacks are counted by reason.
    #[test]
    fn a_job_past_its_deadline_is_skipped_and_fallbacks_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            model_path: dir.path().join("no-model.gguf"),
            ..Config::default()
        };
        let (answers, mut screen) = tokio::sync::mpsc::unbounded_channel();
        let spec = CopierSpec {
            config,
            brands: BrandList::new(Vec::<String>::new()),
        };
        let copier = Copier::start(spec, Vec::new(), answers).unwrap();
        let session = SessionId(1);
        copier.set_session(Some(session));
        let order = CopyOrder {
            product: Product {
                sku: "FW-RUN-0001".into(),
                name: "Northpine Kite Running Shoe".into(),
                brand: Some("Northpine".into()),
                category: vec!["Footwear".into()],
                price: crate::catalog::Minor(15_299),
                list_price: None,
                description: String::new(),
                tags: vec![],
            },
            segment: crate::vocab::SegmentKey::all(),
            brand_fan: false,
            style: crate::vocab::Style::Concise,
            seed: 1,
        };
        let now = Instant::now();
        // One group: the job past its deadline is dropped from it, the other is written.
        copier.submit(vec![
            Job {
                session,
                request: RequestId(1),
                order: order.clone(),
                asked: now,
                deadline: Some(now),
            },
            Job {
                session,
                request: RequestId(2),
                order: order.clone(),
                asked: now,
                deadline: Some(now + Duration::from_secs(60)),
            },
        ]);
        let answer = screen.blocking_recv().unwrap();
        match answer {
            Input::CopyDone {
                request,
                text,
                fell_back,
            } => {
                assert_eq!(
                    request,
                    RequestId(2),
                    "the job past its deadline was skipped"
                );
                assert_eq!(text, copier.desk().template(&order));
                assert_eq!(fell_back, None, "no model is not a lack of time");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            copier.latency().map(|l| (l.answered, l.samples)),
            Some((1, 1))
        );

        copier.fell_back(FellBack::Budget);
        copier.fell_back(FellBack::Budget);
        copier.fell_back(FellBack::Deadline);
        assert_eq!(
            copier.fallbacks(),
            vec![("budget".to_string(), 2), ("deadline".to_string(), 1)]
        );
        copier.stop(Duration::from_secs(5));
        assert!(screen.try_recv().is_err(), "nothing else was answered");
    }

    #[test]
    fn a_worker_busy_beyond_any_budget_is_stuck() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            model_path: dir.path().join("no-model.gguf"),
            ..Config::default()
        };
        let (answers, _screen) = tokio::sync::mpsc::unbounded_channel();
        let spec = CopierSpec {
            config,
            brands: BrandList::new(Vec::<String>::new()),
        };
        let copier = Copier::start(spec, Vec::new(), answers).unwrap();
        let now = Instant::now();
        assert!(!copier.stuck(now), "idle is not stuck");
        *lock(&copier.shared.busy_since) = Some(now);
        assert!(!copier.stuck(now + Duration::from_secs(59)));
        assert!(copier.stuck(now + Duration::from_secs(61)));
        copier.stop(Duration::from_secs(5));
    }

    #[test]
    fn warm_again_and_an_empty_plan() {
        let t0 = Instant::now();
        let mut warm = Warm::new(1);
        assert_eq!(warm.take(t0), Some(0));
        assert_eq!(warm.take(t0), None);
        warm.restart();
        assert_eq!(warm.take(t0), Some(0), "a restart does not wait");
        let mut empty = Warm::new(0);
        assert_eq!(empty.take(t0), None);
        empty.restart();
        assert_eq!(empty.take(t0 + WARM_EVERY), None);
    }
}
