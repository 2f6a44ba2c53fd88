//! The copy worker: one thread that answers the screen's copy requests one at a time, streaming
//! tokens back as kiosk inputs, and a loader thread that brings up the language model in the
//! background.
//!
//! Invariants:
//! - Until the model is loaded (or when it fails to load) copy comes from a template-only
//!   [`CopyService`]: the screen never waits for the model. The load state is reported only to
//!   the console ([`Copier::load_state`]).
//! - Jobs run in submission order on one thread; a job whose session is no longer on screen is
//!   skipped, and every job that runs ends with exactly one `CopyDone`.
//! - After a guardrail restart the streamed text of the failed attempt is not extended; the final
//!   `CopyDone` replaces it with served copy.
//! - The content log keeps at most [`CONTENT_CAPACITY`] items and holds catalog-derived copy only
//!   (no shopper data reaches a prompt, so none reaches the copy).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;

use crate::catalog::Product;
use crate::copy::engine::EngineError;
use crate::copy::service::{CopyProgress, CopyRequest};
use crate::copy::{
    BrandList, CopyOutcome, CopyService, Currency, EngineConfig, GuardrailConfig, Manifest,
    PromptPack, Segment, Style,
};
use crate::ui::kiosk::{Input, RequestId, SessionId};

/// Copy items kept for the console's Content tab.
pub const CONTENT_CAPACITY: usize = 200;
/// No session on screen.
const NO_SESSION: u64 = u64::MAX;

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
    pub product: Product,
    pub segment: Segment,
    pub style: Style,
    pub seed: u32,
}

/// What the loader needs to start the model.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub path: PathBuf,
    pub manifest: Manifest,
    pub engine: EngineConfig,
    pub pack: PromptPack,
    pub currency: Currency,
    pub brands: BrandList,
    pub guardrails: GuardrailConfig,
}

struct Shared {
    template: CopyService,
    model: OnceLock<Arc<CopyService>>,
    load: Mutex<LoadState>,
    content: Mutex<VecDeque<ContentRecord>>,
    last_tokens_per_sec: Mutex<Option<f64>>,
    current_session: AtomicU64,
}

impl Shared {
    /// The service copy comes from now: the model's once it is ready, else templates.
    fn service(&self) -> &CopyService {
        match self.model.get() {
            Some(m) if m.engine().is_some() => m,
            _ => &self.template,
        }
    }
}

/// Handle to the copy worker.
pub struct Copier {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    shared: Arc<Shared>,
}

impl Copier {
    /// Starts the model loader and the worker. Copy is answered into `answers`.
    pub fn start(spec: ModelSpec, answers: UnboundedSender<Input>) -> Self {
        let template = CopyService::new(
            Err(EngineError::Backend("the model is still loading".into())),
            &spec.pack,
            &spec.currency,
            spec.brands.clone(),
            spec.guardrails.clone(),
        );
        let shared = Arc::new(Shared {
            template,
            model: OnceLock::new(),
            load: Mutex::new(LoadState::Loading),
            content: Mutex::new(VecDeque::new()),
            last_tokens_per_sec: Mutex::new(None),
            current_session: AtomicU64::new(NO_SESSION),
        });
        let loader = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("shelftalk-model-load".into())
            .spawn(move || load_model(&loader, spec));
        if let Err(e) = spawned {
            set_load(
                &shared,
                LoadState::Failed(format!("cannot spawn loader: {e}")),
            );
        }
        let (tx, rx) = mpsc::channel::<Job>();
        let worker_shared = Arc::clone(&shared);
        let worker = std::thread::Builder::new()
            .name("shelftalk-copy".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    run_job(&worker_shared, job, &answers);
                }
            });
        let worker = match worker {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::error!(error = %e, "cannot spawn the copy worker");
                None
            }
        };
        Self {
            jobs: Mutex::new(Some(tx)),
            worker: Mutex::new(worker),
            shared,
        }
    }

    /// Queues a copy request.
    pub fn submit(&self, job: Job) {
        let jobs = lock(&self.jobs);
        if let Some(tx) = jobs.as_ref() {
            if tx.send(job).is_err() {
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

    /// Copy right now on the calling thread (self-test, warm-up, attract loop), through the same
    /// service and content log as the screen's requests.
    pub fn write_now(&self, product: &Product, segment: &Segment, style: Style) -> CopyOutcome {
        let outcome = self.shared.service().write_copy(
            &CopyRequest {
                product,
                segment,
                style,
                seed: 7,
                prefix_cache: None,
            },
            &mut |_| {},
        );
        note(&self.shared, product, &outcome);
        outcome
    }

    /// Template copy (attract loop before and after the model: generic and instant).
    pub fn template(&self, product: &Product, segment: &Segment, style: Style) -> String {
        self.shared
            .template
            .write_copy(
                &CopyRequest {
                    product,
                    segment,
                    style,
                    seed: 0,
                    prefix_cache: None,
                },
                &mut |_| {},
            )
            .text
    }

    pub fn load_state(&self) -> LoadState {
        lock(&self.shared.load).clone()
    }

    /// Verdict and serving counts of the model service (or the template service before it).
    pub fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut counts = self.shared.template.counts();
        if let Some(m) = self.shared.model.get() {
            for (k, v) in m.counts() {
                *counts.entry(k).or_insert(0) += v;
            }
        }
        counts
    }

    /// Generation speed of the latest model copy.
    pub fn tokens_per_sec(&self) -> Option<f64> {
        *lock(&self.shared.last_tokens_per_sec)
    }

    /// Recent copy, newest last.
    pub fn content(&self) -> Vec<ContentRecord> {
        lock(&self.shared.content).iter().cloned().collect()
    }

    /// Stops taking jobs and waits up to `wait` for the running one to finish (a generation is
    /// bounded by the engine's budget), so the engine is not torn down mid-token.
    pub fn stop(&self, wait: Duration) {
        self.set_session(None);
        lock(&self.jobs).take();
        let Some(worker) = lock(&self.worker).take() else {
            return;
        };
        let deadline = Instant::now() + wait;
        while !worker.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if worker.is_finished() {
            let _ = worker.join();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn set_load(shared: &Shared, state: LoadState) {
    *lock(&shared.load) = state;
}

fn load_model(shared: &Shared, spec: ModelSpec) {
    let started = Instant::now();
    tracing::info!(model = %spec.manifest.name, path = %spec.path.display(), "loading the language model");
    let service = CopyService::start(
        &spec.path,
        &spec.manifest,
        spec.engine,
        &spec.pack,
        &spec.currency,
        spec.brands,
        spec.guardrails,
    );
    let state = match service.engine_error() {
        Some(e) => LoadState::Failed(e.to_string()),
        None => {
            tracing::info!(
                secs = started.elapsed().as_secs_f64(),
                "language model ready"
            );
            LoadState::Ready
        }
    };
    let _ = shared.model.set(Arc::new(service));
    set_load(shared, state);
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
    let mut content = lock(&shared.content);
    content.push_back(ContentRecord {
        at: now_hms(),
        sku: product.sku.clone(),
        style: outcome.style.as_str().to_string(),
        source: source.to_string(),
        verdict: outcome.verdict.code().to_string(),
        text: outcome.text.clone(),
        elapsed_ms: outcome.elapsed_ms,
    });
    while content.len() > CONTENT_CAPACITY {
        content.pop_front();
    }
}

fn run_job(shared: &Shared, job: Job, answers: &UnboundedSender<Input>) {
    if shared.current_session.load(Ordering::SeqCst) != job.session.0 {
        return;
    }
    let request = job.request;
    let mut restarted = false;
    let mut on_progress = |p: CopyProgress<'_>| match p {
        CopyProgress::Token(t) if !restarted => {
            let _ = answers.send(Input::CopyToken {
                request,
                text: t.to_string(),
            });
        }
        CopyProgress::Token(_) => {}
        CopyProgress::Restart => restarted = true,
    };
    let outcome = shared.service().write_copy(
        &CopyRequest {
            product: &job.product,
            segment: &job.segment,
            style: job.style,
            seed: job.seed,
            prefix_cache: None,
        },
        &mut on_progress,
    );
    note(shared, &job.product, &outcome);
    let _ = answers.send(Input::CopyDone {
        request,
        text: outcome.text,
    });
}
