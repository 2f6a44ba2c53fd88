//! The llama.cpp engine: one worker thread owns the backend, the model and one context; callers
//! hold a cloneable [`EngineHandle`] and receive a stream of [`StreamEvent`]s per request.
//!
//! Invariants:
//! - llama.cpp objects never leave the worker thread. The context borrows the model on the
//!   worker's stack; no lifetime is transmuted.
//! - `LlamaBackend` is initialised once per process (a process-wide `OnceLock`); llama.cpp logs go
//!   to `tracing`.
//! - The model file is verified against its manifest (size and sha256) before it is loaded.
//! - Requests run one at a time in submission order. Every request ends with exactly one `Done`
//!   or `Error` event, unless the caller dropped its stream: the worker notices at the next token
//!   it tries to send, stops, frees the working sequence and takes the next request.
//! - KV cache layout (unified cache, `n_seq_max = prefix_slots + 1`): sequence 0 is the working
//!   sequence, empty between requests; sequences `1..=prefix_slots` each hold one decoded prompt
//!   prefix (one per copy style), kept across requests. A request with the prefix cache copies its
//!   prefix sequence into sequence 0 (`copy_kv_cache_seq`, cells are shared, not duplicated) and
//!   decodes only its suffix. When prefixes plus the request do not fit `n_ctx`, the least recently
//!   used prefix is evicted and re-decoded on its next use.
//! - Without the prefix cache the whole KV cache is cleared and the whole prompt decoded from
//!   position 0, so a fixed seed reproduces the same output.
//! - Generation stops at the end of the first non-empty line, at end of text, at `max_tokens`,
//!   or when the wall-clock budget is spent.
//! - Sampling chain: logit bias (tokens with `suppressed_chars` never sampled) → top-k →
//!   repetition penalty → temperature → seeded dist. With `allowed_numbers` a token that would
//!   write a number outside the list is masked and the chain re-applied, so the model cannot
//!   invent prices or sizes (the guardrails still check every output). A number is streamed
//!   only once it is finished; one that can only end unlisted is taken back (its cells leave the
//!   KV cache, the token before it is decoded again) and the copy goes on in words from where it
//!   began, at most `MAX_REWINDS` times per request.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::logit_bias::LlamaLogitBias;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::LogOptions;
use serde::{Deserialize, Serialize};

use crate::copy::guardrails::{normalise_number, percent_follows};
use crate::copy::manifest::{Manifest, ManifestError};

/// Engine tuning. Defaults are defined here once; every field may be omitted in config files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EngineConfig {
    /// Threads for generation (one token at a time). Set explicitly: llama.cpp's default
    /// oversubscribes small kiosks.
    pub threads: i32,
    /// Threads for prompt processing (batches).
    pub threads_batch: i32,
    /// KV cache size in tokens, shared by all resident prefixes and the running request.
    /// llama.cpp rounds it up to a multiple of 256.
    pub n_ctx: u32,
    /// Logical batch size (tokens per `decode` call).
    pub n_batch: u32,
    /// Physical batch size; with `n_ctx` it bounds the compute buffer.
    pub n_ubatch: u32,
    /// Prompt prefixes kept decoded at once (one per style).
    pub prefix_slots: u32,
    /// Tokens generated at most per request.
    pub max_tokens: u32,
    /// Wall-clock budget per request, from the moment the worker starts it.
    pub budget_ms: u64,
    /// Default seed when a request does not bring one.
    pub seed: u32,
    /// Candidates kept by top-k before anything else (sorting the whole vocabulary is slow).
    pub top_k: i32,
    pub temperature: f32,
    /// Repetition penalty (1.0 = off) over the last `repeat_last_n` generated tokens.
    pub repeat_penalty: f32,
    pub repeat_last_n: i32,
    /// Keep style prefixes decoded between requests.
    pub prefix_cache: bool,
    /// Tokens containing any of these characters are never sampled (foreign currency symbols:
    /// the guardrails would reject them anyway). Must not contain the store's own symbol.
    pub suppressed_chars: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            threads: 2,
            threads_batch: 2,
            n_ctx: 2048,
            n_batch: 512,
            n_ubatch: 512,
            prefix_slots: 4,
            max_tokens: 48,
            budget_ms: 4000,
            seed: 42,
            top_k: 20,
            temperature: 0.5,
            repeat_penalty: 1.15,
            repeat_last_n: 64,
            prefix_cache: true,
            suppressed_chars: "$€£¥".into(),
        }
    }
}

impl EngineConfig {
    /// Reject values llama.cpp would misbehave on.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |what: &str| Err(EngineError::Config(what.to_string()));
        if self.threads < 1 || self.threads_batch < 1 {
            return bad("threads and threads_batch must be at least 1");
        }
        if self.n_ctx < 256 {
            return bad("n_ctx must be at least 256");
        }
        if self.n_batch == 0 || self.n_ubatch == 0 || self.n_ubatch > self.n_batch {
            return bad("need 0 < n_ubatch <= n_batch");
        }
        if self.prefix_slots == 0 || self.prefix_slots > 64 {
            return bad("prefix_slots must be between 1 and 64");
        }
        if self.max_tokens == 0 || self.top_k < 1 || self.temperature < 0.0 {
            return bad("need max_tokens >= 1, top_k >= 1, temperature >= 0");
        }
        if self.repeat_penalty <= 0.0 {
            return bad("repeat_penalty must be > 0 (1.0 disables it)");
        }
        Ok(())
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] ManifestError),
    #[error("invalid engine config: {0}")]
    Config(String),
    #[error("llama.cpp backend: {0}")]
    Backend(String),
    #[error("cannot load model {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("cannot create llama.cpp context: {0}")]
    Context(String),
    #[error("request has an empty prompt suffix")]
    EmptyPrompt,
    #[error("prompt of {tokens} tokens plus {max_tokens} to generate does not fit the context of {n_ctx} tokens")]
    PromptTooLong {
        tokens: usize,
        max_tokens: u32,
        n_ctx: u32,
    },
    #[error("llama.cpp decode failed: {0} (retryable)")]
    Decode(String),
    #[error("the engine worker has stopped (retryable after restarting the engine)")]
    WorkerGone,
}

impl EngineError {
    /// Whether the same request may succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Decode(_) | Self::WorkerGone)
    }
}

/// One generation request: the shared prefix and the request's own suffix.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationRequest {
    /// Shared prefix (a style's instructions and examples). Identified by content.
    pub prefix: Arc<str>,
    /// The request's own text; must not be empty.
    pub suffix: String,
    pub seed: u32,
    /// Overrides [`EngineConfig::max_tokens`].
    pub max_tokens: Option<u32>,
    /// Overrides [`EngineConfig::prefix_cache`].
    pub prefix_cache: Option<bool>,
    /// Overrides [`EngineConfig::temperature`].
    pub temperature: Option<f32>,
    /// When set, generation may only write these numbers (normalised: no thousands separators,
    /// no trailing decimal zeros): a token that would start or finish any other number is
    /// resampled. `None` leaves numbers free.
    pub allowed_numbers: Option<Vec<String>>,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    EndOfLine,
    EndOfText,
    MaxTokens,
    Budget,
}

/// Timings of one request, in milliseconds where a unit is not named.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    /// From submission to the worker starting the request.
    pub queue_ms: f64,
    /// Prompt tokens decoded for this request (suffix only when the prefix was resident).
    pub prompt_tokens: u32,
    /// Prefix tokens reused from the KV cache.
    pub cached_tokens: u32,
    pub prompt_ms: f64,
    /// From the worker starting the request to the first generated token.
    pub ttft_ms: f64,
    pub generated_tokens: u32,
    pub total_ms: f64,
    /// Generated tokens per second after the prompt.
    pub tokens_per_sec: f64,
}

/// The finished generation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// The copy, trimmed. The streamed tokens concatenate to it up to surrounding whitespace.
    pub text: String,
    pub stop: StopReason,
    pub timings: Timings,
}

/// What a request's stream carries.
#[derive(Debug)]
pub enum StreamEvent {
    Token(String),
    Done(Generation),
    Error(EngineError),
}

/// The events of one request. Iterate (blocking) or call [`GenerationStream::finish`].
/// Dropping the stream cancels the request.
#[derive(Debug)]
pub struct GenerationStream {
    rx: Receiver<StreamEvent>,
}

impl Iterator for GenerationStream {
    type Item = StreamEvent;
    fn next(&mut self) -> Option<StreamEvent> {
        self.rx.recv().ok()
    }
}

impl GenerationStream {
    /// Block until the request ends, passing each token to `on_token`.
    pub fn finish(self, mut on_token: impl FnMut(&str)) -> Result<Generation, EngineError> {
        for event in self {
            match event {
                StreamEvent::Token(t) => on_token(&t),
                StreamEvent::Done(g) => return Ok(g),
                StreamEvent::Error(e) => return Err(e),
            }
        }
        Err(EngineError::WorkerGone)
    }
}

/// Counters of the engine since start, for the console and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EngineStats {
    pub requests: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub failed: u64,
    pub generated_tokens: u64,
    /// Prefix decodes (first use of a style, or after eviction or a no-cache request).
    pub prefix_decodes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
    generated_tokens: AtomicU64,
    prefix_decodes: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// What the engine runs, for status screens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineInfo {
    pub model: String,
    pub path: PathBuf,
    /// Context size llama.cpp actually allocated.
    pub n_ctx: u32,
    pub config: EngineConfig,
}

type Sink = Box<dyn FnMut(StreamEvent) -> bool + Send>;

struct Job {
    request: GenerationRequest,
    submitted: Instant,
    sink: Sink,
}

/// A cloneable handle to the engine worker. The worker stops when the last handle is dropped.
#[derive(Clone)]
pub struct EngineHandle {
    jobs: Sender<Job>,
    counters: Arc<Counters>,
    info: Arc<EngineInfo>,
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
static BACKEND_INIT: Mutex<()> = Mutex::new(());

/// The process-wide llama.cpp backend, initialised on first use.
fn backend() -> Result<&'static LlamaBackend, EngineError> {
    if let Some(b) = BACKEND.get() {
        return Ok(b);
    }
    let _guard = BACKEND_INIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(b) = BACKEND.get() {
        return Ok(b);
    }
    llama_cpp_2::send_logs_to_tracing(LogOptions::default());
    let b = LlamaBackend::init().map_err(|e| EngineError::Backend(e.to_string()))?;
    Ok(BACKEND.get_or_init(|| b))
}

impl EngineHandle {
    /// Verify the model against the manifest, load it on a new worker thread and wait until the
    /// worker is ready.
    pub fn start(
        model_path: &Path,
        manifest: &Manifest,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        config.validate()?;
        manifest.verify(model_path)?;
        let backend = backend()?;
        let (jobs, job_rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<u32, EngineError>>();
        let counters = Arc::new(Counters::default());
        let worker_counters = Arc::clone(&counters);
        let path = model_path.to_path_buf();
        let worker_config = config.clone();
        std::thread::Builder::new()
            .name("shelftalk-llama".into())
            .spawn(move || {
                worker_main(
                    backend,
                    &path,
                    worker_config,
                    job_rx,
                    ready_tx,
                    worker_counters,
                )
            })
            .map_err(|e| EngineError::Backend(format!("cannot spawn worker thread: {e}")))?;
        let n_ctx = ready_rx.recv().map_err(|_| EngineError::WorkerGone)??;
        Ok(Self {
            jobs,
            counters,
            info: Arc::new(EngineInfo {
                model: manifest.name.clone(),
                path: model_path.to_path_buf(),
                n_ctx,
                config,
            }),
        })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.info
    }

    pub fn stats(&self) -> EngineStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            requests: get(&c.requests),
            completed: get(&c.completed),
            cancelled: get(&c.cancelled),
            failed: get(&c.failed),
            generated_tokens: get(&c.generated_tokens),
            prefix_decodes: get(&c.prefix_decodes),
        }
    }

    /// Queue a request; events arrive on the returned stream. Drop the stream to cancel.
    pub fn generate(&self, request: GenerationRequest) -> Result<GenerationStream, EngineError> {
        let (tx, rx) = mpsc::channel();
        self.generate_into(request, move |event| tx.send(event).is_ok())?;
        Ok(GenerationStream { rx })
    }

    /// Queue a request delivering events to `sink` on the worker thread; the request is
    /// cancelled as soon as `sink` returns `false`. Bridge to async runtimes with this (e.g. a
    /// sink that sends into a tokio channel and returns whether the receiver is still there).
    pub fn generate_into(
        &self,
        request: GenerationRequest,
        sink: impl FnMut(StreamEvent) -> bool + Send + 'static,
    ) -> Result<(), EngineError> {
        self.jobs
            .send(Job {
                request,
                submitted: Instant::now(),
                sink: Box::new(sink),
            })
            .map_err(|_| EngineError::WorkerGone)
    }
}

fn worker_main(
    backend: &'static LlamaBackend,
    path: &Path,
    config: EngineConfig,
    jobs: Receiver<Job>,
    ready: Sender<Result<u32, EngineError>>,
    counters: Arc<Counters>,
) {
    let model = match LlamaModel::load_from_file(backend, path, &LlamaModelParams::default()) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(EngineError::Load {
                path: path.to_path_buf(),
                message: e.to_string(),
            }));
            return;
        }
    };
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.n_ctx))
        .with_n_batch(config.n_batch)
        .with_n_ubatch(config.n_ubatch)
        .with_n_seq_max(config.prefix_slots + 1)
        .with_n_threads(config.threads)
        .with_n_threads_batch(config.threads_batch)
        .with_kv_unified(true)
        .with_swa_full(true);
    let ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(EngineError::Context(e.to_string())));
            return;
        }
    };
    let suppressed = tokens_with(&model, &config.suppressed_chars)
        .into_iter()
        .map(|token| LlamaLogitBias::new(token, f32::NEG_INFINITY))
        .collect();
    let digit_tokens = tokens_with(&model, "0123456789");
    let mut worker = Worker {
        model: &model,
        suppressed,
        digit_tokens,
        n_ctx: ctx.n_ctx(),
        batch: LlamaBatch::new(config.n_batch as usize, 1),
        ctx,
        config,
        resident: Vec::new(),
        tick: 0,
        counters,
    };
    if ready.send(Ok(worker.n_ctx)).is_err() {
        return;
    }
    while let Ok(job) = jobs.recv() {
        worker.run(job);
    }
}

/// Every token whose text contains one of `chars`.
fn tokens_with(model: &LlamaModel, chars: &str) -> Vec<LlamaToken> {
    if chars.is_empty() {
        return Vec::new();
    }
    let vocab = model.vocab();
    let mut piece = Vec::new();
    vocab
        .tokens()
        .filter(|token| {
            piece.clear();
            vocab.token_to_piece_into(*token, &mut piece, false, None);
            String::from_utf8_lossy(&piece).contains(|c| chars.contains(c))
        })
        .collect()
}

/// Sequence that requests run in.
const WORK_SEQ: i32 = 0;

struct Resident {
    text: Arc<str>,
    seq: i32,
    len: usize,
    last_used: u64,
}

struct Worker<'m> {
    model: &'m LlamaModel,
    /// Logit biases of -inf for tokens with suppressed characters.
    suppressed: Vec<LlamaLogitBias>,
    /// Tokens whose text has an ASCII digit.
    digit_tokens: Vec<LlamaToken>,
    ctx: LlamaContext<'m>,
    n_ctx: u32,
    batch: LlamaBatch<'static>,
    config: EngineConfig,
    resident: Vec<Resident>,
    tick: u64,
    counters: Arc<Counters>,
}

/// Dead ends (see [`number_in_progress`]) taken back per request; after that the copy ends there.
const MAX_REWINDS: u32 = 2;

/// One generated token: what it was, its KV position and where its text starts in the copy.
#[derive(Debug, Clone, Copy)]
struct Step {
    token: LlamaToken,
    pos: usize,
    at: usize,
}

/// Where the prompt left the working sequence.
struct Prompted {
    next_pos: usize,
    logits_idx: i32,
    decoded: usize,
    cached: usize,
}

impl Worker<'_> {
    fn run(&mut self, mut job: Job) {
        let started = Instant::now();
        Counters::bump(&self.counters.requests, 1);
        let result = self.generate(&job.request, started, &mut job.sink);
        if let Err(e) = self.ctx.clear_kv_cache_seq(Some(0), None, None) {
            tracing::warn!(error = %e, "cannot clear the working sequence; resetting the KV cache");
            self.reset();
        }
        match result {
            Ok(Some(mut generation)) => {
                generation.timings.queue_ms = ms(started.duration_since(job.submitted));
                Counters::bump(&self.counters.completed, 1);
                (job.sink)(StreamEvent::Done(generation));
            }
            Ok(None) => Counters::bump(&self.counters.cancelled, 1),
            Err(e) => {
                Counters::bump(&self.counters.failed, 1);
                tracing::warn!(error = %e, "generation failed");
                if matches!(e, EngineError::Decode(_)) {
                    self.reset();
                }
                (job.sink)(StreamEvent::Error(e));
            }
        }
    }

    /// Forget every resident prefix and empty the KV cache.
    fn reset(&mut self) {
        self.ctx.clear_kv_cache();
        self.resident.clear();
    }

    /// Run one request. `Ok(None)` means the caller went away.
    fn generate(
        &mut self,
        request: &GenerationRequest,
        started: Instant,
        sink: &mut Sink,
    ) -> Result<Option<Generation>, EngineError> {
        let model = self.model;
        let vocab = model.vocab();
        let max_tokens = request.max_tokens.unwrap_or(self.config.max_tokens).max(1);
        let suffix = vocab.tokenize(request.suffix.as_bytes(), false, false);
        if suffix.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        let prompted = if request.prefix_cache.unwrap_or(self.config.prefix_cache) {
            self.prompt_cached(&request.prefix, &suffix, max_tokens)?
        } else {
            self.prompt_plain(&request.prefix, &suffix, max_tokens)?
        };
        let prompt_ms = ms(started.elapsed());

        let mut sampler = LlamaSampler::chain_simple([
            LlamaSampler::logit_bias(model.n_vocab(), &self.suppressed),
            LlamaSampler::top_k(self.config.top_k),
            LlamaSampler::penalties(
                model.n_vocab(),
                self.config.repeat_last_n,
                self.config.repeat_penalty,
                0.0,
                0.0,
            ),
            LlamaSampler::temp(request.temperature.unwrap_or(self.config.temperature)),
            LlamaSampler::dist(request.seed),
        ]);
        let budget = Duration::from_millis(self.config.budget_ms);
        let (mut pos, mut idx) = (prompted.next_pos, prompted.logits_idx);
        let mut pending = Vec::new();
        let mut text = String::new();
        // Every generated token with its position and where its piece starts in `text`; text
        // from `streamed` on is held back while it ends in a number in progress.
        let mut steps: Vec<Step> = Vec::new();
        let mut streamed = 0;
        let (mut rewinds, mut words_only) = (0, false);
        let mut generated = 0u32;
        let mut ttft_ms = 0.0;
        let stop = loop {
            if generated >= max_tokens {
                break StopReason::MaxTokens;
            }
            if started.elapsed() >= budget {
                break StopReason::Budget;
            }
            let token = match &request.allowed_numbers {
                None => sampler.sample(&self.ctx, idx),
                Some(allowed) => {
                    match self.sample_numbers(&mut sampler, idx, &text, allowed, words_only) {
                        Some(token) => token,
                        None => {
                            // A dead end: the number being written can only end unlisted.
                            // Take it back and write words where it began.
                            let Some(at) = number_in_progress(&text)
                                .and_then(|start| steps.iter().rposition(|s| s.at <= start))
                                .filter(|_| rewinds < MAX_REWINDS)
                            else {
                                break StopReason::EndOfText;
                            };
                            let step = steps[at];
                            let before = at
                                .checked_sub(1)
                                .map_or(suffix[suffix.len() - 1], |b| steps[b].token);
                            let Some(fresh) = self.rewind(before, step.pos)? else {
                                break StopReason::EndOfText;
                            };
                            idx = fresh;
                            pos = step.pos;
                            steps.truncate(at);
                            text.truncate(step.at.max(streamed));
                            pending.clear();
                            rewinds += 1;
                            words_only = true;
                            continue;
                        }
                    }
                }
            };
            if vocab.is_eog(token) {
                break StopReason::EndOfText;
            }
            generated += 1;
            if generated == 1 {
                ttft_ms = ms(started.elapsed());
            }
            steps.push(Step {
                token,
                pos,
                at: text.len(),
            });
            vocab.token_to_piece_into(token, &mut pending, false, None);
            let piece = take_utf8(&mut pending);
            // Whitespace and newlines before any visible text are skipped; after it, a newline
            // ends the copy.
            let piece = if text.is_empty() {
                piece.trim_start().to_string()
            } else {
                piece
            };
            let (piece, line_ended) = match piece.split_once('\n') {
                Some((head, _)) => (head.to_string(), true),
                None => (piece, false),
            };
            // After a rewind, words until a letter is written: not the same number again.
            words_only &= !piece.chars().any(char::is_alphabetic);
            text.push_str(&piece);
            let hold = number_in_progress(&text)
                .and_then(|start| steps.iter().rev().find(|s| s.at <= start))
                .map_or(text.len(), |s| s.at);
            if hold > streamed {
                if !sink(StreamEvent::Token(text[streamed..hold].to_string())) {
                    return Ok(None);
                }
                streamed = hold;
            }
            if line_ended {
                break StopReason::EndOfLine;
            }
            self.batch.clear();
            self.batch
                .add(token, to_pos(pos)?, &[WORK_SEQ], true)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
            pos += 1;
            idx = 0;
        };
        if text.len() > streamed && !sink(StreamEvent::Token(text[streamed..].to_string())) {
            return Ok(None);
        }
        Counters::bump(&self.counters.generated_tokens, u64::from(generated));
        let total_ms = ms(started.elapsed());
        let gen_ms = total_ms - prompt_ms;
        Ok(Some(Generation {
            text: text.trim().to_string(),
            stop,
            timings: Timings {
                queue_ms: 0.0,
                prompt_tokens: count(prompted.decoded),
                cached_tokens: count(prompted.cached),
                prompt_ms,
                ttft_ms,
                generated_tokens: generated,
                total_ms,
                tokens_per_sec: if gen_ms > 0.0 {
                    f64::from(generated) * 1000.0 / gen_ms
                } else {
                    0.0
                },
            },
        }))
    }

    /// Sample a token whose text keeps every number in `text` + token among `allowed` (or a
    /// prefix of one, for the number being written). Rejected tokens are masked and the chain
    /// re-applied; `None` when nothing acceptable turns up. With `words_only` no token with a
    /// digit is considered.
    fn sample_numbers(
        &self,
        sampler: &mut LlamaSampler,
        idx: i32,
        text: &str,
        allowed: &[String],
        words_only: bool,
    ) -> Option<LlamaToken> {
        const MAX_REJECTIONS: usize = 8;
        let vocab = self.model.vocab();
        let mut piece = Vec::new();
        let mut acceptable = |token: LlamaToken| {
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            // The end of text finishes a number still being written: it must be complete.
            let next = if vocab.is_eog(token) {
                " ".into()
            } else {
                String::from_utf8_lossy(&piece)
            };
            numbers_allowed(&format!("{text}{next}"), allowed)
        };
        // Fast path: most tokens are words. (`sample` accepts what it returns into the chain's
        // state, so a rejected token still counts in the repetition penalty's history: a mild
        // bias, cheaper than building the candidate array in Rust for every token.)
        let rejected = if words_only {
            None
        } else {
            let token = sampler.sample(&self.ctx, idx);
            if acceptable(token) {
                return Some(token);
            }
            Some(token)
        };
        // Slow path: mask rejected tokens (the array is in token-id order) and re-apply the
        // chain; in the end mask every token with a digit so the copy goes on in words.
        let mut logits = self.ctx.token_data_array_ith(idx);
        let mask = |logits: &mut llama_cpp_2::token::data_array::LlamaTokenDataArray,
                    token: LlamaToken| {
            if let Some(d) = usize::try_from(token.0)
                .ok()
                .and_then(|i| logits.data.get_mut(i))
            {
                d.set_logit(f32::NEG_INFINITY);
            }
        };
        if let Some(token) = rejected {
            mask(&mut logits, token);
        }
        for round in 0..=MAX_REJECTIONS {
            if round == MAX_REJECTIONS || (words_only && round == 0) {
                for t in &self.digit_tokens {
                    mask(&mut logits, *t);
                }
            }
            let mut candidates = logits.clone();
            candidates.apply_sampler(sampler);
            let token = candidates.selected_token()?;
            if acceptable(token) {
                sampler.accept(token);
                return Some(token);
            }
            mask(&mut logits, token);
        }
        None
    }

    /// Take back the working sequence from `pos` on: `before`, the token at `pos - 1`, is decoded
    /// again so its logits are fresh. Returns their batch index, or `None` when the model's
    /// cache cannot drop a tail of positions (recurrent models): then nothing was changed.
    fn rewind(&mut self, before: LlamaToken, pos: usize) -> Result<Option<i32>, EngineError> {
        let from = pos.checked_sub(1).ok_or(EngineError::EmptyPrompt)?;
        let from_u32 = u32::try_from(from).map_err(|e| EngineError::Decode(e.to_string()))?;
        let removed = self
            .ctx
            .clear_kv_cache_seq(Some(0), Some(from_u32), None)
            .map_err(|e| EngineError::Decode(e.to_string()))?;
        if !removed {
            return Ok(None);
        }
        self.decode(&[before], from, WORK_SEQ, true).map(Some)
    }

    /// Decode the whole prompt from an empty KV cache into the working sequence.
    fn prompt_plain(
        &mut self,
        prefix: &str,
        suffix: &[LlamaToken],
        max_tokens: u32,
    ) -> Result<Prompted, EngineError> {
        self.reset();
        let mut tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, false);
        tokens.extend_from_slice(suffix);
        if tokens.len() + max_tokens as usize > self.n_ctx as usize {
            return Err(EngineError::PromptTooLong {
                tokens: tokens.len(),
                max_tokens,
                n_ctx: self.n_ctx,
            });
        }
        let logits_idx = self.decode(&tokens, 0, WORK_SEQ, true)?;
        Ok(Prompted {
            next_pos: tokens.len(),
            logits_idx,
            decoded: tokens.len(),
            cached: 0,
        })
    }

    /// Make the prefix resident (decoding it if needed), share it into the working sequence and
    /// decode the suffix after it.
    fn prompt_cached(
        &mut self,
        prefix: &Arc<str>,
        suffix: &[LlamaToken],
        max_tokens: u32,
    ) -> Result<Prompted, EngineError> {
        self.tick += 1;
        let reserve = suffix.len() + max_tokens as usize;
        let (seq, len, fresh) = match self.resident.iter_mut().find(|r| *r.text == **prefix) {
            Some(r) => {
                r.last_used = self.tick;
                let (seq, len) = (r.seq, r.len);
                self.make_room(reserve, Some(seq))?;
                (seq, len, 0)
            }
            None => {
                let tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, false);
                self.make_room(tokens.len() + reserve, None)?;
                let seq = (1..=self.config.prefix_slots as i32)
                    .find(|s| self.resident.iter().all(|r| r.seq != *s))
                    .ok_or(EngineError::PromptTooLong {
                        tokens: tokens.len(),
                        max_tokens,
                        n_ctx: self.n_ctx,
                    })?;
                self.decode(&tokens, 0, seq, false)?;
                Counters::bump(&self.counters.prefix_decodes, 1);
                self.resident.push(Resident {
                    text: Arc::clone(prefix),
                    seq,
                    len: tokens.len(),
                    last_used: self.tick,
                });
                (seq, tokens.len(), tokens.len())
            }
        };
        self.ctx
            .copy_kv_cache_seq(seq, WORK_SEQ, None, None)
            .map_err(|e| EngineError::Decode(e.to_string()))?;
        let logits_idx = self.decode(suffix, len, WORK_SEQ, true)?;
        Ok(Prompted {
            next_pos: len + suffix.len(),
            logits_idx,
            decoded: fresh + suffix.len(),
            cached: len - fresh,
        })
    }

    /// Evict least recently used prefixes (never `keep`) until `need` more cells fit beside the
    /// resident prefixes and, for a new prefix, a sequence slot is free.
    fn make_room(&mut self, need: usize, keep: Option<i32>) -> Result<(), EngineError> {
        loop {
            let used: usize = self.resident.iter().map(|r| r.len).sum();
            let slot_free =
                keep.is_some() || self.resident.len() < self.config.prefix_slots as usize;
            if used + need <= self.n_ctx as usize && slot_free {
                return Ok(());
            }
            let victim = self
                .resident
                .iter()
                .enumerate()
                .filter(|(_, r)| Some(r.seq) != keep)
                .min_by_key(|(_, r)| r.last_used)
                .map(|(i, _)| i);
            let Some(i) = victim else {
                return Err(EngineError::PromptTooLong {
                    tokens: used + need,
                    max_tokens: 0,
                    n_ctx: self.n_ctx,
                });
            };
            let evicted = self.resident.remove(i);
            let seq = u32::try_from(evicted.seq).map_err(|e| EngineError::Decode(e.to_string()))?;
            self.ctx
                .clear_kv_cache_seq(Some(seq), None, None)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
        }
    }

    /// Decode `tokens` at positions `start..` of `seq`, in `n_batch` chunks. Returns the batch
    /// index of the last token, whose logits are requested when `logits_last`.
    fn decode(
        &mut self,
        tokens: &[LlamaToken],
        start: usize,
        seq: i32,
        logits_last: bool,
    ) -> Result<i32, EngineError> {
        let chunk_len = self.config.n_batch as usize;
        let mut last_idx = 0;
        for (c, chunk) in tokens.chunks(chunk_len).enumerate() {
            self.batch.clear();
            for (j, token) in chunk.iter().enumerate() {
                let at = c * chunk_len + j;
                let logits = logits_last && at + 1 == tokens.len();
                self.batch
                    .add(*token, to_pos(start + at)?, &[seq], logits)
                    .map_err(|e| EngineError::Decode(e.to_string()))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(|e| EngineError::Decode(e.to_string()))?;
            last_idx = self.batch.n_tokens() - 1;
        }
        Ok(last_idx)
    }
}

/// Where a number still open at the end of `text` starts (its first digit): the text ends in a
/// run of digits, `,` and `.` that holds a digit. Such a number is not shown until it is finished
/// and is taken back when it cannot end as a listed one.
fn number_in_progress(text: &str) -> Option<usize> {
    let tail = text.len()
        - text
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || matches!(c, ',' | '.'))
            .map(char::len_utf8)
            .sum::<usize>();
    text[tail..]
        .find(|c: char| c.is_ascii_digit())
        .map(|digit| tail + digit)
}

/// Whether every finished number in `text` is in `allowed` and a number still being written at
/// the end can still become one. Numbers are digit runs with `,` (dropped) and `.` separators,
/// compared as the guardrails normalise them (`1299.00` is `1299`, but `259` is not `2590`).
/// A number followed by `%` must be listed with its `%` (`"53%"`): a price's digits do not make
/// a discount. A number in progress may end in `.` only as a listed number ending a sentence
/// (`₹899.`) or on its way to a listed decimal (`9.` of `9.84`), so a full stop cannot hide an
/// unfinished number.
fn numbers_allowed(text: &str, allowed: &[String]) -> bool {
    let listed = |n: &str| allowed.contains(&normalise_number(n));
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut number = String::new();
        while i < chars.len() && (chars[i].is_ascii_digit() || matches!(chars[i], ',' | '.')) {
            if chars[i] != ',' {
                number.push(chars[i]);
            }
            i += 1;
        }
        let trimmed = number.trim_end_matches('.');
        let ok = if i == chars.len() {
            allowed.iter().any(|a| a.starts_with(number.as_str())) || listed(&number)
        } else if percent_follows(&chars[i..].iter().collect::<String>()) {
            let percent = format!("{}%", normalise_number(trimmed));
            allowed.contains(&percent)
        } else {
            listed(trimmed)
        };
        if !ok {
            return false;
        }
    }
    true
}

/// Take the longest valid UTF-8 prefix of `pending`, leaving an incomplete trailing character
/// for the next token. Invalid bytes become U+FFFD (which the guardrails reject).
fn take_utf8(pending: &mut Vec<u8>) -> String {
    match std::str::from_utf8(pending) {
        Ok(s) => {
            let s = s.to_string();
            pending.clear();
            s
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let s = String::from_utf8_lossy(&pending[..valid]).into_owned();
            pending.drain(..valid);
            s
        }
        Err(_) => {
            let s = String::from_utf8_lossy(pending).into_owned();
            pending.clear();
            s
        }
    }
}

fn to_pos(pos: usize) -> Result<i32, EngineError> {
    i32::try_from(pos).map_err(|e| EngineError::Decode(format!("position {pos}: {e}")))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn utf8_pieces_are_reassembled() {
        let rupee = "₹".as_bytes();
        let mut pending = rupee[..1].to_vec();
        assert_eq!(take_utf8(&mut pending), "");
        pending.extend_from_slice(&rupee[1..]);
        pending.extend_from_slice(b"99");
        assert_eq!(take_utf8(&mut pending), "₹99");
        assert!(pending.is_empty());
        let mut bad = vec![0xff, b'a'];
        assert_eq!(take_utf8(&mut bad), "\u{fffd}a");
    }

    #[test]
    fn a_number_in_progress_is_found_at_the_end_only() {
        assert_eq!(
            number_in_progress("Only ₹680, 21"),
            Some("Only ₹680, ".len())
        );
        assert_eq!(number_in_progress("was ₹1,0"), Some("was ₹".len()));
        assert_eq!(number_in_progress("a real 9."), Some("a real ".len()));
        assert_eq!(number_in_progress("now ₹680."), Some("now ₹".len()));
        assert_eq!(number_in_progress("now ₹680 off"), None);
        assert_eq!(number_in_progress("the end..."), None);
        assert_eq!(number_in_progress(""), None);
    }

    #[test]
    fn number_constraint() {
        let allowed = [
            "899".to_string(),
            "1899".to_string(),
            "9.84".to_string(),
            "53".to_string(),
            "53%".to_string(),
        ];
        assert!(numbers_allowed("Now ₹8", &allowed));
        assert!(numbers_allowed("53 %", &allowed));
        assert!(
            !numbers_allowed("Now 899% better", &allowed),
            "a price is no percentage"
        );
        assert!(!numbers_allowed("9.84%", &allowed));
        assert!(numbers_allowed("Now ₹899", &allowed));
        assert!(numbers_allowed("Now ₹899.", &allowed));
        assert!(numbers_allowed("Now ₹1,899, 53% off", &allowed));
        assert!(numbers_allowed("a 9.84 inch lid", &allowed));
        assert!(!numbers_allowed("Now ₹45 ", &allowed));
        assert!(!numbers_allowed("a 98 inch lid", &allowed));
        assert!(!numbers_allowed("Now ₹7", &allowed));
        assert!(!numbers_allowed("Now ₹89 ", &allowed));
        assert!(
            numbers_allowed("Now ₹1899.0", &allowed),
            "on its way to 1899.00"
        );
        assert!(numbers_allowed("Now ₹1899.00 flat", &allowed));
        assert!(numbers_allowed("a 9.", &allowed), "on its way to 9.84");
        assert!(
            !numbers_allowed("It is a real 8.", &allowed),
            "8 ends no listed number"
        );
        let list_price = ["2590".to_string()];
        assert!(numbers_allowed("was ₹259", &list_price));
        assert!(
            !numbers_allowed("was ₹259.", &list_price),
            "259 is not 2590"
        );
        assert!(!numbers_allowed("was ₹259 ", &list_price));
        let watts = ["25".to_string()];
        assert!(numbers_allowed("25 W of light", &watts));
        assert!(
            !numbers_allowed("25 percent off", &watts),
            "the word makes a percentage, as in the guardrails"
        );
    }

    #[test]
    fn config_defaults_and_validation() {
        let c: EngineConfig = toml::from_str("threads = 4").unwrap();
        assert_eq!(c.threads, 4);
        assert_eq!(c.n_ctx, EngineConfig::default().n_ctx);
        c.validate().unwrap();
        let bad = EngineConfig {
            n_ubatch: 1024,
            n_batch: 512,
            ..EngineConfig::default()
        };
        assert!(matches!(bad.validate(), Err(EngineError::Config(_))));
    }
}
