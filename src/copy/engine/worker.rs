//! The worker thread: owns the llama.cpp backend reference, the model, the context and the batch,
//! and runs requests one at a time (prompt, sampling, decoding, streaming).
//!
//! Invariants:
//! - Every llama.cpp object (model, context, batch, sampler) is created, used and dropped on this
//!   thread; the context borrows the model on `worker_main`'s stack and no lifetime is
//!   transmuted. Only the process-wide backend (a `'static` reference) and channels cross
//!   threads.
//! - Sequence 0 ([`WORK_SEQ`]) is the working sequence: it is emptied after every request (or
//!   the whole KV cache is reset when that fails, and after any decode error). Prefix sequences
//!   are handed out by [`PrefixSlots`]; this module decodes and clears them.
//! - Each request ends in exactly one `Done` or `Error` sent to its sink, unless the sink
//!   refused a token (the caller is gone): then nothing more is sent.
//! - Text is streamed only up to [`gate::held_from`]: a number in progress is never shown
//!   before it is finished. With `allowed_numbers` every sampled token passes [`gate::judge`];
//!   at a dead end the gate decides between a rewind (the KV cache drops the number's cells and
//!   the token before it is decoded again) and the end of the copy.
//! - Token pieces are reassembled into UTF-8 with [`gate::take_utf8`], so a character split
//!   across tokens is never broken.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
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

use super::gate::{self, take_utf8, Candidate, DeadEnd, Next, NumberGate};
use super::prefix::PrefixSlots;
use super::{
    Counters, DecodeFailure, EngineConfig, EngineError, Generation, GenerationRequest, Job, Sink,
    StopReason, StreamEvent, Timings,
};

static BACKEND: OnceLock<LlamaBackend> = OnceLock::new();
static BACKEND_INIT: Mutex<()> = Mutex::new(());

/// The process-wide llama.cpp backend, initialised on first use.
pub(super) fn backend() -> Result<&'static LlamaBackend, EngineError> {
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
    let b = LlamaBackend::init().map_err(EngineError::Backend)?;
    Ok(BACKEND.get_or_init(|| b))
}

/// The worker thread: load the model, create the context, report readiness (the context size
/// llama.cpp allocated) and run jobs until every handle is gone.
pub(super) fn worker_main(
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
                source: e,
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
            let _ = ready.send(Err(EngineError::Context(e)));
            return;
        }
    };
    let suppressed = tokens_with(&model, &config.suppressed_chars)
        .into_iter()
        .map(|token| LlamaLogitBias::new(token, f32::NEG_INFINITY))
        .collect();
    let digit_tokens = tokens_with(&model, "0123456789０１２３４５６７８９");
    let mut worker = Worker {
        model: &model,
        suppressed,
        digit_tokens,
        n_ctx: ctx.n_ctx(),
        batch: LlamaBatch::new(config.n_batch as usize, 1),
        ctx,
        prefixes: PrefixSlots::new(config.prefix_slots),
        config,
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

struct Worker<'m> {
    model: &'m LlamaModel,
    /// Logit biases of -inf for tokens with suppressed characters.
    suppressed: Vec<LlamaLogitBias>,
    /// Tokens whose text has a digit (ASCII or full-width).
    digit_tokens: Vec<LlamaToken>,
    ctx: LlamaContext<'m>,
    n_ctx: u32,
    batch: LlamaBatch<'static>,
    config: EngineConfig,
    prefixes: PrefixSlots,
    counters: Arc<Counters>,
}

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
                if matches!(e, EngineError::Decode { .. }) {
                    self.reset();
                }
                (job.sink)(StreamEvent::Error(e));
            }
        }
    }

    /// The test and drill knob (`EngineConfig::step_delay_ms`): after the prompt's decode and
    /// after each generated token's, the worker sleeps, as an engine starved of CPU stalls.
    fn starve(&self) {
        if self.config.step_delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.config.step_delay_ms));
        }
    }

    /// Forget every resident prefix and empty the KV cache.
    fn reset(&mut self) {
        self.ctx.clear_kv_cache();
        self.prefixes.clear();
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
        if request.deadline.is_some_and(|d| Instant::now() >= d) {
            // Too late to write anything: decode nothing, end as the budget does.
            return Ok(Some(Generation {
                text: String::new(),
                stop: StopReason::Budget,
                timings: Timings::default(),
            }));
        }
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
        self.starve();
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
        let mut gate = NumberGate::default();
        let mut generated = 0u32;
        let mut ttft_ms = 0.0;
        let stop = loop {
            if generated >= max_tokens {
                break StopReason::MaxTokens;
            }
            if started.elapsed() >= budget || request.deadline.is_some_and(|d| Instant::now() >= d)
            {
                break StopReason::Budget;
            }
            let token = match &request.allowed_numbers {
                None => sampler.sample(&self.ctx, idx),
                Some(allowed) => {
                    let rules = gate::Rules {
                        allowed,
                        money: request.money_roles.as_ref(),
                        min_length: request.min_length,
                    };
                    match self.sample_numbers(&mut sampler, idx, &text, rules, gate.words_only()) {
                        Some(token) => token,
                        None => {
                            // A dead end: the number being written can only end unlisted.
                            // Take it back and write words where it began.
                            let DeadEnd::Rewind { step: at } =
                                gate.dead_end(&text, steps.iter().map(|s| s.at))
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
                            gate.rewound();
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
            gate.wrote(&piece);
            text.push_str(&piece);
            let hold = gate::held_from(&text, steps.iter().map(|s| s.at));
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
                .map_err(DecodeFailure::during("adding a sampled token"))?;
            self.ctx
                .decode(&mut self.batch)
                .map_err(DecodeFailure::during("decoding a sampled token"))?;
            self.starve();
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
        rules: gate::Rules<'_>,
        words_only: bool,
    ) -> Option<LlamaToken> {
        const MAX_REJECTIONS: usize = 8;
        let vocab = self.model.vocab();
        let mut piece = Vec::new();
        let mut acceptable = |token: LlamaToken| {
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            // The end of text finishes a number still being written: it must be complete.
            let (allowed, money) = (rules.allowed, rules.money);
            if vocab.is_eog(token) {
                return gate::may_end(text, rules.min_length)
                    && gate::judge(text, Next::EndOfText, allowed, money) == Candidate::Allow;
            }
            let piece = String::from_utf8_lossy(&piece);
            if let Some((head, _)) = piece.split_once('\n') {
                // A newline ends the copy (unless nothing visible was written yet).
                let copy = format!("{text}{head}");
                if !copy.trim().is_empty() && !gate::may_end(&copy, rules.min_length) {
                    return false;
                }
            }
            gate::judge(text, Next::Piece(&piece), allowed, money) == Candidate::Allow
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
        let from_u32 = u32::try_from(from).map_err(|source| {
            DecodeFailure::during("rewinding")(DecodeFailure::Position { pos: from, source })
        })?;
        let removed = self
            .ctx
            .clear_kv_cache_seq(Some(0), Some(from_u32), None)
            .map_err(DecodeFailure::during("rewinding the working sequence"))?;
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
        self.prefixes.tick();
        let reserve = suffix.len() + max_tokens as usize;
        let (seq, len, fresh) = match self.prefixes.touch(prefix) {
            Some((seq, len)) => {
                self.make_room(reserve, Some(seq))?;
                (seq, len, 0)
            }
            None => {
                let tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, false);
                self.make_room(tokens.len() + reserve, None)?;
                let seq = self.prefixes.free_seq().ok_or(EngineError::PromptTooLong {
                    tokens: tokens.len(),
                    max_tokens,
                    n_ctx: self.n_ctx,
                })?;
                self.decode(&tokens, 0, seq, false)?;
                Counters::bump(&self.counters.prefix_decodes, 1);
                self.prefixes.insert(Arc::clone(prefix), seq, tokens.len());
                (seq, tokens.len(), tokens.len())
            }
        };
        self.ctx
            .copy_kv_cache_seq(seq, WORK_SEQ, None, None)
            .map_err(DecodeFailure::during("sharing the prefix"))?;
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
        while let Some(evicted) = self.prefixes.evict_for(need, keep, self.n_ctx)? {
            let seq = u32::try_from(evicted).map_err(DecodeFailure::during("evicting a prefix"))?;
            self.ctx
                .clear_kv_cache_seq(Some(seq), None, None)
                .map_err(DecodeFailure::during("evicting a prefix"))?;
        }
        Ok(())
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
                    .map_err(DecodeFailure::during("adding a prompt token"))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(DecodeFailure::during("decoding the prompt"))?;
            last_idx = self.batch.n_tokens() - 1;
        }
        Ok(last_idx)
    }
}

fn to_pos(pos: usize) -> Result<i32, EngineError> {
    i32::try_from(pos).map_err(|source| {
        DecodeFailure::during("placing a token")(DecodeFailure::Position { pos, source })
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
