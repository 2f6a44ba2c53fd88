//! The worker thread: owns the llama.cpp backend reference, the model, the context and the batch,
//! and runs up to `parallel` requests at once (prompts, sampling, decoding, streaming): every
//! step samples one token for each request in flight and decodes all of them in one
//! `llama_decode`, and waiting requests join at the next step, `admit_per_step` a step.
//!
//! Invariants:
//! - Every llama.cpp object (model, context, batch, samplers) is created, used and dropped on
//!   this thread; the context borrows the model on `worker_main`'s stack and no lifetime is
//!   transmuted. Only the process-wide backend (a `'static` reference) and channels cross
//!   threads.
//! - Sequences `0..parallel` are the working sequences, one per request in flight. With the
//!   unified layout a sequence is emptied when its request ends and prefix sequences (above
//!   them) are handed out by [`PrefixSlots`]; with the split layout a sequence keeps its
//!   request's prefix ([`HeldPrefixes`]) and only the request's own cells are cleared. This module
//!   decodes, copies and clears them. A request without the prefix cache runs alone on an
//!   emptied cache.
//! - The last sequence is scratch: padding rows ([`EngineConfig::padded_outputs`]) are decoded
//!   in it at positions from 0 and cleared right after their decode, so it is empty between
//!   decodes; their logits are never sampled.
//! - Unified layout only: a request whose prefix and first suffix tokens are those of a request
//!   in flight takes them from it ([`Share`]; one product's record for several shoppers, as
//!   `copy warm` plans it): the cells already decoded are shared by `copy_kv_cache_seq`, and
//!   tokens still in the coming decode carry both sequences. Never either's last suffix token
//!   (each request's logits come from its own; a rewind may take back the other's). A cell
//!   depends only on the tokens up to it, so the request reads what it would have decoded
//!   itself.
//! - Split layout: a prefix's cells are saved right after it was decoded alone into an emptied
//!   sequence, so a sequence that restores them holds exactly the prefix. Saved cells are
//!   copies in memory: emptying the KV cache leaves them valid. The bare decode loop copies
//!   sequences only whole (llama.cpp's rule across caches).
//! - After every decode each request in flight has exactly one row of logits for its next
//!   token (its last sampled token's), and one more for each of its drafts, in position order
//!   ([`Live::drafted`]); every request's step samples from them before anything else is
//!   decoded, and the tokens whose logits are wanted are all in the last `decode` of a step
//!   (chunks are cut from the end).
//! - A draft is kept only when the token sampled from the row before it is the draft itself;
//!   at the first that is not, the drafts' cells from it on are cleared from the request's
//!   sequence before the sampled token is decoded in their place. A rewind clears them with
//!   the number's cells.
//! - Each request ends in exactly one `Done` or `Error` sent to its sink, unless the sink
//!   refused a token (the caller is gone): then nothing more is sent. A failed decode of a
//!   shared batch fails every request in it and resets the KV cache.
//! - Text is streamed only up to [`gate::held_from`]: a number in progress is never shown
//!   before it is finished, and a copy that ends with one unfinished (the budget spent
//!   mid-amount) is served up to it ([`gate::served_to`]). With `allowed_numbers` every sampled token passes [`gate::judge`];
//!   at a dead end the gate decides between a rewind (the request's sequence drops the number's
//!   cells and the token before it is decoded again, in the next shared batch) and the end of
//!   the copy; after a lone space token, whether to take the space back the same way
//!   ([`gate::NumberGate::space_rewind`]). Text taken back was never streamed.
//! - Token pieces are reassembled into UTF-8 with [`gate::take_utf8`], so a character split
//!   across tokens is never broken; a token is sampled only if its bytes keep the copy valid
//!   UTF-8 and finish no character the copy may not have ([`gate::bytes_may_follow`]), so byte
//!   tokens never write U+FFFD or a suppressed character.

use std::collections::VecDeque;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use llama_cpp_2::context::params::{KvCacheType, LlamaContextParams};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::{LlamaStateSeqFlags, LogOptions, SeqState};

use crate::copy::guardrails::{only_from_facts, StrayChars};
use crate::numbers::{never_shown, CURRENCY_SYMBOLS};

use super::draft;
use super::gate::{self, take_utf8, Candidate, DeadEnd, Next, NumberGate};
use super::prefix::{HeldPrefixes, PrefixSlots, Source};
use super::shortlist::{self, TokenSet};
use super::{
    Counters, DecodeFailure, EngineConfig, EngineError, Generation, GenerationRequest, Job,
    KvCache, KvLayout, StopReason, StreamEvent, Timings, WidthFigure, Work,
};

/// llama.cpp's `LLAMA_FLASH_ATTN_TYPE_ENABLED` (the crate does not re-export the constant).
const FLASH_ATTENTION_ON: i32 = 1;
/// llama.cpp's `LLAMA_FLASH_ATTN_TYPE_DISABLED`.
const FLASH_ATTENTION_OFF: i32 = 0;

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
    return_large_blocks_to_the_system();
    let b = LlamaBackend::init().map_err(EngineError::Backend)?;
    Ok(BACKEND.get_or_init(|| b))
}

/// Fixes glibc's mmap threshold at its default (128 KiB) for the process, so that every block
/// that large is mapped on its own and unmapped when freed. Left dynamic, glibc raises the
/// threshold to the size of each mapped block freed; afterwards the worker's per-step buffers of a
/// megabyte or more (logits rows over the 262,144-token vocabulary, the sampler's candidate
/// array) come from the heap and stay resident after they are freed. Measured with `bench copy`
/// (en, 24 pairs, seed 29): peak RSS 359 → 352 MB, decode speed unchanged. Process-wide, like the
/// log routing above; glibc targets only (the appliance's Debian on x86-64 and ARM).
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before the worker
    // allocates, and glibc serialises it with allocation anyway.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// The worker thread: load the model, create the context, report readiness (the context size
/// llama.cpp allocated) and run jobs until every handle is gone.
pub(super) fn worker_main(
    backend: &'static LlamaBackend,
    path: &Path,
    config: EngineConfig,
    jobs: Receiver<Work>,
    ready: Sender<Result<(u32, super::DraftTiming), EngineError>>,
    counters: Arc<Counters>,
) {
    let model_params = LlamaModelParams::default().with_use_mmap(config.mmap);
    let model = match LlamaModel::load_from_file(backend, path, &model_params) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(EngineError::Load {
                path: path.to_path_buf(),
                source: e,
            }));
            return;
        }
    };
    let split = config.kv_layout == KvLayout::Split;
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(config.context_cells()))
        .with_n_batch(config.n_batch)
        .with_n_ubatch(config.n_ubatch)
        .with_n_seq_max(config.sequences())
        .with_n_threads(config.threads)
        .with_n_threads_batch(config.threads_batch)
        .with_kv_unified(!split)
        .with_swa_full(true);
    let params = params.with_flash_attention_policy(if config.uses_flash_attention() {
        FLASH_ATTENTION_ON
    } else {
        FLASH_ATTENTION_OFF
    });
    let params = match config.kv_cache {
        KvCache::F16 => params,
        KvCache::Q8_0 => params
            .with_type_k(KvCacheType::Q8_0)
            .with_type_v(KvCacheType::Q8_0),
    };
    let ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(EngineError::Context(e)));
            return;
        }
    };
    let sampling = Sampling {
        suppressed: tokens_with(&model, |c| never_written(c, &config.suppressed_chars)),
        not_words: tokens_where(&model, |piece| {
            piece.contains(|c| {
                "0123456789０１２３４５６７８９".contains(c) || CURRENCY_SYMBOLS.contains(c)
            }) || (!piece.is_empty() && piece.chars().all(|c| c.is_whitespace() && c != '\n'))
        }),
        symbols: tokens_with(&model, only_from_facts),
        top_k: usize::try_from(config.top_k).unwrap_or(1),
        shortlist: Vec::new(),
        candidates: LlamaTokenDataArray::new(Vec::new(), false),
    };
    let mut worker = Worker {
        model: &model,
        sampling,
        n_ctx: ctx.n_ctx(),
        batch: LlamaBatch::new(config.n_batch as usize, config.parallel as i32),
        ctx,
        books: if split {
            Books::Split(HeldPrefixes::new(config.parallel, config.prefix_slots))
        } else {
            Books::Unified(PrefixSlots::new(
                config.prefix_slots,
                config.parallel as i32,
            ))
        },
        saved: (0..config.prefix_slots).map(|_| None).collect(),
        config,
        counters,
        costs: draft::StepCosts::default(),
    };
    worker.costs = worker.time_rows();
    let timing = super::DraftTiming {
        step_ms: worker.costs.step_ms().to_vec(),
        drafts_by_rows: worker.costs.plan(),
    };
    if ready.send(Ok((worker.n_ctx, timing))).is_err() {
        return;
    }
    let stopped = worker.serve(&jobs);
    // The context, then the model, are freed before the stop is acknowledged: after it no
    // llama.cpp code runs on this thread.
    drop(worker);
    drop(model);
    if let Some(ack) = stopped {
        let _ = ack.send(());
    }
}

/// A character no copy may have: one of the configured `suppressed` characters, one never
/// shown ([`crate::numbers::never_shown`]: `�`, the screen's drawing characters, private use), or a
/// control character but the newline that ends the copy (the guardrails refuse them all as
/// `charset`: the demo wrote U+0080 in bytes, en, seed 283).
fn never_written(c: char, suppressed: &str) -> bool {
    suppressed.contains(c) || never_shown(c) || (c.is_control() && c != '\n')
}

/// Every token whose text has a character for which `chars` holds.
fn tokens_with(model: &LlamaModel, chars: impl Fn(char) -> bool) -> TokenSet {
    tokens_where(model, |piece| piece.contains(&chars))
}

/// Every token whose text `piece` holds for.
fn tokens_where(model: &LlamaModel, piece: impl Fn(&str) -> bool) -> TokenSet {
    let vocab = model.vocab();
    let mut bytes = Vec::new();
    TokenSet::of(
        vocab
            .tokens()
            .filter(|token| {
                bytes.clear();
                vocab.token_to_piece_into(*token, &mut bytes, false, None);
                piece(&String::from_utf8_lossy(&bytes))
            })
            .map(|token| token.0),
    )
}

/// What every request samples with besides its own chain: the tokens never written, the
/// tokens of amounts, and the reused buffers of the shortlist ([`shortlist::top_k`]) the chain runs on.
struct Sampling {
    /// Tokens with suppressed characters: never sampled.
    suppressed: TokenSet,
    /// Tokens that begin no word: those whose text has a digit (ASCII or full-width) or a
    /// currency sign (what an amount is written with), and those of spaces alone (but a newline).
    /// After a rewind the copy goes on in words, so none may come: a sign alone would be a sign
    /// without an amount (`Only ₹`, the Flipkart sample, seed 251), and after a space alone a
    /// word token would double it, so the copy could go on only in a word glued to nothing
    /// (`ight off`).
    not_words: TokenSet,
    /// Tokens whose text has a symbol, emoji or markup character ([`only_from_facts`]): for
    /// copy whose facts have none, every one is stray ([`StrayChars::refuses_symbol`]), so none is
    /// drawn.
    symbols: TokenSet,
    top_k: usize,
    shortlist: Vec<(i32, f32)>,
    candidates: LlamaTokenDataArray,
}

impl Sampling {
    /// A token drawn by `sampler`'s chain from the top-k of `logits` without the suppressed
    /// tokens, `rejected` and the tokens `left_out` names; `None` when none is left. The
    /// token is not accepted into the chain's state: the caller does that for the one it keeps.
    fn pick(
        &mut self,
        logits: &[f32],
        sampler: &mut LlamaSampler,
        rejected: &[LlamaToken],
        left_out: LeftOut,
    ) -> Option<LlamaToken> {
        self.rank(logits, self.top_k, rejected, left_out);
        if self.shortlist.is_empty() {
            return None;
        }
        let candidates = &mut self.candidates;
        candidates.data.clear();
        candidates.data.extend(
            self.shortlist
                .iter()
                .map(|&(id, logit)| LlamaTokenData::new(LlamaToken(id), logit, 0.0)),
        );
        candidates.selected = None;
        candidates.sorted = true;
        candidates.apply_sampler(sampler);
        candidates.selected_token()
    }

    /// Fills the shortlist with the `k` highest logits of `logits` whose tokens may be written:
    /// not suppressed, not `rejected` and none `left_out` names; highest first, no chain applied.
    fn rank(&mut self, logits: &[f32], k: usize, rejected: &[LlamaToken], left_out: LeftOut) {
        let (suppressed, not_words, symbols) = (&self.suppressed, &self.not_words, &self.symbols);
        let excluded = |id: i32| {
            suppressed.contains(id)
                || (left_out.not_words && not_words.contains(id))
                || (left_out.symbols && symbols.contains(id))
                || rejected.iter().any(|t| t.0 == id)
        };
        shortlist::top_k(logits, k, excluded, &mut self.shortlist);
    }
}

/// The tokens a draw leaves out besides the suppressed ones and those already refused.
#[derive(Debug, Clone, Copy, Default)]
struct LeftOut {
    /// Those that begin no word ([`Sampling::not_words`]).
    not_words: bool,
    /// Those with a symbol ([`Sampling::symbols`]).
    symbols: bool,
}

struct Worker<'m> {
    model: &'m LlamaModel,
    sampling: Sampling,
    ctx: LlamaContext<'m>,
    n_ctx: u32,
    batch: LlamaBatch<'static>,
    config: EngineConfig,
    books: Books,
    /// The split layout's saved prefixes, by the slot [`HeldPrefixes::store`] gave each.
    saved: Vec<Option<SeqState>>,
    counters: Arc<Counters>,
    /// A step's time by its rows on this machine, measured at start ([`draft::StepCosts`]).
    costs: draft::StepCosts,
}

/// The prefix books of the cache's layout ([`KvLayout`]).
enum Books {
    Unified(PrefixSlots),
    Split(HeldPrefixes),
}

impl Books {
    /// The unified layout's books.
    fn slots(&mut self) -> Option<&mut PrefixSlots> {
        match self {
            Books::Unified(slots) => Some(slots),
            Books::Split(_) => None,
        }
    }
}

/// One generated token: what it was, its KV position and where its text starts in the copy.
#[derive(Debug, Clone, Copy)]
struct Step {
    token: LlamaToken,
    pos: usize,
    at: usize,
}

/// One token for the next `decode`: of which working sequence, where, and whether its logits are
/// wanted (the last token each live request adds). `shared`: the other working sequences whose
/// prompt has the same token here (bit `s` for sequence `s`: working sequences are fewer than
/// 32, `EngineConfig::validate` caps `parallel` at 16); the token is decoded once, into a cell
/// all of them read.
#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: i32,
    token: LlamaToken,
    pos: usize,
    logits: bool,
    shared: u32,
}

/// A new request's suffix tokens that another request in flight (with the same prefix) has at the
/// same positions: its first `tokens` are taken from working sequence `from` instead of decoded
/// again. Those `from` has in the cache are shared at admission (`copy_kv_cache_seq`); those
/// still to be decoded in the coming step (`from` was admitted in it, or took them from a third
/// request admitted in it) are entries the new sequence is added to.
#[derive(Debug, Clone, Copy)]
struct Share {
    from: i32,
    tokens: usize,
}

/// A request in flight: its working sequence and everything its generation loop keeps.
struct Live {
    job: Job,
    seq: i32,
    started: Instant,
    sampler: LlamaSampler,
    max_tokens: u32,
    /// The suffix's tokens; a request with the same prefix admitted while this one runs takes
    /// their common first tokens from this sequence ([`Share`]). The last is decoded again
    /// when a rewind takes back the first generated token.
    suffix: Vec<LlamaToken>,
    /// Where the next token goes, and the batch index of this request's logits after a decode.
    pos: usize,
    idx: i32,
    pending: Vec<u8>,
    text: String,
    /// Every generated token with its position and where its piece starts in `text`; text from
    /// `streamed` on is held back while it ends in a number in progress.
    steps: Vec<Step>,
    streamed: usize,
    gate: NumberGate,
    generated: u32,
    ttft_ms: f64,
    /// Set by the first decode that held the request's prompt.
    prompt_ms: Option<f64>,
    /// Time in `llama_decode` for the decodes that held this request's generated tokens (a
    /// shared decode counts whole for each request in it).
    decode_ms: f64,
    prompt_tokens: usize,
    cached_tokens: usize,
    /// Cells this request may still need (suffix and tokens to generate), for room-making.
    reserve: usize,
    /// The prefix sequence it shares cells with (pinned: not evicted while it runs).
    prefix_seq: Option<i32>,
    /// Runs alone on an emptied cache (no prefix cache): nothing joins it.
    alone: bool,
    /// Draft tokens in the KV cache after the last sampled token, each with its position and
    /// row of logits (set by the decode that held them): kept one by one while the model samples
    /// them, the rest taken out of the cache at the first it does not.
    drafted: Vec<Drafted>,
}

/// A draft token decoded after a request's last sampled one.
#[derive(Debug, Clone, Copy)]
struct Drafted {
    token: LlamaToken,
    pos: usize,
    /// Its row of logits, once the decode that held it returned.
    row: Option<i32>,
}

/// What [`Worker::sample_checked`] drew.
enum Sampled {
    /// A token every rule allows.
    Token(LlamaToken),
    /// After a lone space, the first draw was refused or glues a word to the space: what the
    /// model reached for after the space may not be written.
    Refused,
    /// The first draw would complete an amount in words (`a few` + ` dollars`): the phrase it
    /// ends goes back ([`gate::NumberGate::words_rewind`]).
    AmountInWords(LlamaToken),
    /// No acceptable token turned up.
    DeadEnd,
}

/// The number gate's rules for a request that lists its numbers (`allowed_numbers`); `None`
/// for one that does not, which the gate leaves alone.
fn gate_rules(request: &GenerationRequest) -> Option<gate::Rules<'_>> {
    request
        .allowed_numbers
        .as_deref()
        .map(|allowed| gate::Rules {
            allowed,
            money: request.money_roles.as_ref(),
            barred: &request.barred_phrases,
            topic: &request.topic_words,
            min_length: request.min_length,
            openers: &request.lowercase_openers,
            repeats: &request.repeats,
            stray: &request.stray_chars,
            letters: request.letter_share,
            amounts: &request.amount_words,
            places: &request.place_names,
            claims: &request.word_claims,
            leads_barred: false,
        })
}

/// What one step of a live request does.
enum Advance {
    /// Decode this token next (a sampled token, or the token before a rewound number).
    Decode(Entry),
    Finished(StopReason),
    /// The caller went away.
    Cancelled,
}

impl Worker<'_> {
    /// The working sequences: `0..parallel`; prefixes live above them.
    fn work_seqs(&self) -> i32 {
        self.config.parallel as i32
    }

    /// The scratch sequence of padding rows, the last one (with the split layout it exists only
    /// when outputs are padded).
    fn scratch_seq(&self) -> i32 {
        self.config.sequences() as i32 - 1
    }

    /// Cells one sequence may fill: the whole cache, or with the split layout its own.
    fn seq_cells(&self) -> u32 {
        match self.books {
            Books::Unified(_) => self.n_ctx,
            Books::Split(_) => self.n_ctx / self.config.sequences().max(1),
        }
    }

    /// The working sequence for `job`: the lowest free one, or with the split layout the one
    /// its books choose (where the prefix is held, if free). `None` when all are busy.
    fn free_seq(&self, job: &Job, live: &[Live]) -> Option<i32> {
        let busy: Vec<i32> = live.iter().map(|l| l.seq).collect();
        match &self.books {
            Books::Split(held) => held.choose(&job.request.prefix, &busy),
            Books::Unified(_) => (0..self.work_seqs()).find(|s| !busy.contains(s)),
        }
    }

    /// Cells padding rows take during a decode.
    fn pad_cells(&self) -> usize {
        (self.config.pad_outputs as usize).saturating_sub(1)
    }

    /// The bare decode loop ([`super::EngineHandle::decode_widths`]) on an emptied cache.
    fn decode_widths(
        &mut self,
        widths: &[u32],
        steps: u32,
        context: u32,
    ) -> Result<Vec<WidthFigure>, EngineError> {
        self.reset();
        let result = self.time_widths(widths, steps, context);
        self.reset();
        result
    }

    fn time_widths(
        &mut self,
        widths: &[u32],
        steps: u32,
        context: u32,
    ) -> Result<Vec<WidthFigure>, EngineError> {
        let max_width = self.config.sequences();
        let n_ctx = self.n_ctx;
        let too_long = |tokens: usize| EngineError::PromptTooLong {
            tokens,
            max_tokens: steps,
            n_ctx,
        };
        let tokens = filler_tokens(self.model, context.max(1) as usize)?;
        let pool = &tokens;
        let mut figures = Vec::new();
        for &width in widths {
            if width == 0 || width > max_width {
                return Err(EngineError::Config(
                    "a decode width must be between 1 and the context's sequences",
                ));
            }
            let cells = tokens.len() + (width * steps) as usize;
            if cells > self.seq_cells() as usize {
                return Err(too_long(cells));
            }
            self.decode_prefix(&tokens, 0)?;
            for seq in 1..width as i32 {
                self.ctx
                    .copy_kv_cache_seq(0, seq, None, None)
                    .map_err(DecodeFailure::during("sharing the context"))?;
            }
            let mut times = Vec::with_capacity(steps as usize);
            for step in 0..steps as usize {
                self.batch.clear();
                for seq in 0..width as i32 {
                    let token = pool[(step + seq as usize) % pool.len()];
                    self.batch
                        .add(token, to_pos(tokens.len() + step)?, &[seq], true)
                        .map_err(DecodeFailure::during("adding a token"))?;
                }
                let started = Instant::now();
                self.ctx
                    .decode(&mut self.batch)
                    .map_err(DecodeFailure::during("decoding a batch"))?;
                times.push(ms(started.elapsed()));
            }
            self.ctx.clear_kv_cache();
            times.sort_by(f64::total_cmp);
            let step_ms = times.get(times.len() / 2).copied().unwrap_or(0.0);
            figures.push(WidthFigure {
                width,
                steps,
                step_ms,
                tokens_per_sec: per_sec(width, step_ms),
            });
        }
        Ok(figures)
    }

    /// Times steps of 1, 2, … `draft_rows` rows of one sequence (a sampled token and its drafts,
    /// every row with logits) over a short context, the median of [`CALIBRATION_STEPS`] rounds
    /// of every count after one not counted; the cache is emptied after. Nothing measured (no drafts) with
    /// drafts off or when a decode fails, which is logged.
    fn time_rows(&mut self) -> draft::StepCosts {
        let max_rows = self.config.draft_rows as usize;
        if max_rows < 2 {
            return draft::StepCosts::default();
        }
        let started = Instant::now();
        let timed = self.time_rows_of(max_rows);
        self.reset();
        match timed {
            Ok(times) => {
                let costs = draft::StepCosts::new(times);
                tracing::info!(
                    step_ms = ?costs.step_ms(),
                    drafts_by_rows = ?costs.plan(),
                    took_ms = ms(started.elapsed()),
                    "timed a step by its rows: drafts go where they raise tokens per ms"
                );
                costs
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot time steps by their rows; no drafts");
                draft::StepCosts::default()
            }
        }
    }

    fn time_rows_of(&mut self, max_rows: usize) -> Result<Vec<f64>, EngineError> {
        let context = filler_tokens(self.model, CALIBRATION_CONTEXT)?;
        if context.len() + max_rows > self.seq_cells() as usize {
            return Err(EngineError::Config(
                "the context is too small to time a step's rows",
            ));
        }
        self.decode_prefix(&context, 0)?;
        // Round after round of every row count, so that a busy moment of the machine falls on
        // all of them alike; the first round is not counted.
        let mut times = vec![Vec::with_capacity(CALIBRATION_STEPS); max_rows];
        for round in 0..=CALIBRATION_STEPS {
            for rows in 1..=max_rows {
                self.batch.clear();
                for row in 0..rows {
                    let token = context[(round + row) % context.len()];
                    self.batch
                        .add(token, to_pos(context.len() + row)?, &[0], true)
                        .map_err(DecodeFailure::during("adding a token"))?;
                }
                let started = Instant::now();
                self.ctx
                    .decode(&mut self.batch)
                    .map_err(DecodeFailure::during("decoding a batch"))?;
                if round > 0 {
                    times[rows - 1].push(ms(started.elapsed()));
                }
                self.ctx
                    .clear_kv_cache_seq(Some(0), Some(to_pos(context.len())? as u32), None)
                    .map_err(DecodeFailure::during("clearing a timed step"))?;
            }
        }
        let figures = times
            .into_iter()
            .map(|mut t| {
                t.sort_by(f64::total_cmp);
                t.get(t.len() / 2).copied().unwrap_or(0.0)
            })
            .collect();
        Ok(figures)
    }

    /// Runs jobs until every handle is gone: up to `parallel` requests at once, each in its own
    /// working sequence, one token of every live request per `decode`. Requests waiting in the
    /// channel join at the next step, `admit_per_step` a step (the rest at the steps after).
    /// Serves until every handle is dropped (`None`) or a stop arrives: then the requests in
    /// flight and waiting ones end with [`EngineError::WorkerGone`], and the stop's
    /// acknowledgement is returned, to be sent once the context is freed.
    fn serve(&mut self, jobs: &Receiver<Work>) -> Option<Sender<()>> {
        let mut live: Vec<Live> = Vec::new();
        let mut queue: VecDeque<Job> = VecDeque::new();
        let mut probes: Vec<Work> = Vec::new();
        let mut stop = None;
        loop {
            if live.is_empty() && queue.is_empty() && probes.is_empty() {
                match jobs.recv() {
                    Ok(Work::Generate(job)) => queue.push_back(*job),
                    Ok(Work::Stop(ack)) => stop = Some(ack),
                    Ok(probe) => probes.push(probe),
                    Err(_) => return None,
                }
            }
            while let Ok(work) = jobs.try_recv() {
                match work {
                    Work::Generate(job) => queue.push_back(*job),
                    Work::Stop(ack) => stop = Some(ack),
                    probe => probes.push(probe),
                }
            }
            if stop.is_some() {
                for l in std::mem::take(&mut live) {
                    self.finish(l, Err(EngineError::WorkerGone));
                }
                for mut job in queue.drain(..) {
                    (job.sink)(StreamEvent::Error(EngineError::WorkerGone));
                }
                for probe in probes.drain(..) {
                    if let Work::Widths { reply, .. } = probe {
                        let _ = reply.send(Err(EngineError::WorkerGone));
                    }
                }
                return stop;
            }
            // The bare decode loop runs between requests: waiting ones start after it.
            if live.is_empty() {
                for probe in probes.drain(..) {
                    if let Work::Widths {
                        widths,
                        steps,
                        context,
                        reply,
                    } = probe
                    {
                        let _ = reply.send(self.decode_widths(&widths, steps, context));
                    }
                }
            }
            let mut entries: Vec<Entry> = Vec::new();
            // Every live request has fresh logits from the last decode: one step each.
            let mut i = 0;
            while i < live.len() {
                match self.advance(&mut live[i]) {
                    Ok(Advance::Decode(entry)) => {
                        entries.push(entry);
                        i += 1;
                    }
                    Ok(Advance::Finished(stop)) => {
                        let l = live.swap_remove(i);
                        self.finish(l, Ok(Some(stop)));
                    }
                    Ok(Advance::Cancelled) => {
                        let l = live.swap_remove(i);
                        self.finish(l, Ok(None));
                    }
                    Err(e) => {
                        let l = live.swap_remove(i);
                        self.finish(l, Err(e));
                    }
                }
            }
            // Waiting requests take the free working sequences, `admit_per_step` a step. A
            // request without the prefix cache runs alone on an emptied cache (so a fixed seed
            // gives the same copy).
            let mut admitted = 0u32;
            while live.len() < self.config.parallel as usize && probes.is_empty() {
                if self.config.admit_per_step > 0 && admitted >= self.config.admit_per_step {
                    break;
                }
                let Some(job) = queue.front() else { break };
                let alone = !job.request.prefix_cache.unwrap_or(self.config.prefix_cache);
                if live.iter().any(|l| l.alone) || (alone && !live.is_empty()) {
                    break;
                }
                let Some(job) = queue.pop_front() else { break };
                let Some(seq) = self.free_seq(&job, &live) else {
                    queue.push_front(job);
                    break;
                };
                match self.admit(job, seq, &live) {
                    Admitted::Live(l, mut prompt, share) => {
                        if let Some(share) = share {
                            // Those of the tokens it takes that are still to be decoded for
                            // `share.from`: decoded once, for both.
                            let start = l.pos - l.suffix.len();
                            let taken = start..start + share.tokens;
                            for e in entries.iter_mut().filter(|e| {
                                (e.seq == share.from || e.shared & (1 << share.from) != 0)
                                    && taken.contains(&e.pos)
                            }) {
                                e.shared |= 1 << l.seq;
                            }
                        }
                        admitted += 1;
                        entries.append(&mut prompt);
                        live.push(*l);
                    }
                    Admitted::Done => {}
                    Admitted::Wait(job) => {
                        queue.push_front(*job);
                        break;
                    }
                    Admitted::Failed(failed) => {
                        let (job, e) = *failed;
                        self.fail(job, e);
                    }
                }
                if alone {
                    break;
                }
            }
            if entries.is_empty() {
                continue;
            }
            self.add_drafts(&mut live, &mut entries);
            let decoding = Instant::now();
            match self.decode_entries(&entries) {
                Ok(indices) => {
                    let decode_ms = ms(decoding.elapsed());
                    let mut seen: Vec<i32> = Vec::with_capacity(live.len());
                    for (seq, idx) in indices {
                        let Some(l) = live.iter_mut().find(|l| l.seq == seq) else {
                            continue;
                        };
                        if seen.contains(&seq) {
                            // A sequence's rows are in order: its next token's, then its
                            // drafts'.
                            if let Some(d) = l.drafted.iter_mut().find(|d| d.row.is_none()) {
                                d.row = Some(idx);
                            }
                            continue;
                        }
                        seen.push(seq);
                        l.idx = idx;
                        if l.prompt_ms.is_none() {
                            l.prompt_ms = Some(ms(l.started.elapsed()));
                        } else {
                            l.decode_ms += decode_ms;
                        }
                    }
                    self.starve();
                }
                Err(e) => {
                    tracing::warn!(error = %e, requests = live.len(), "decode failed; every request in flight fails");
                    for l in live.drain(..) {
                        let job = l.job;
                        Counters::bump(&self.counters.failed, 1);
                        let mut sink = job.sink;
                        sink(StreamEvent::Error(EngineError::Decode {
                            step: "decoding a shared batch",
                            source: DecodeFailure::Shared(e.to_string()),
                        }));
                    }
                    self.reset();
                }
            }
        }
    }

    /// Gives the rows of logits the step's entries leave spare under `draft_rows` to the live
    /// requests' drafts ([`draft::lookup`] of the suffix after the last tokens written, no more
    /// than the request may still write): in a step that decodes a prompt, all that fit (a row
    /// beside a prompt's dozens costs little); in a step of sampled tokens only, those
    /// [`draft::StepCosts::worth`] finds raise the step's expected tokens per millisecond, the
    /// likeliest kept first. Each draft token is an entry after its request's next token, at the
    /// positions after it.
    fn add_drafts(&mut self, live: &mut [Live], entries: &mut Vec<Entry>) {
        let rows = entries.iter().filter(|e| e.logits).count();
        let spare = (self.config.draft_rows as usize).saturating_sub(rows);
        let prompt_step = entries.len() > rows;
        // No lookups in a step that would take no draft even if every spare row were offered
        // the likeliest kept (a session's three picks on a CPU where a fourth row is dear).
        if spare == 0 || !prompt_step && self.costs.worth(rows, &vec![draft::gain(0); spare]) == 0 {
            return;
        }
        // Every request's offer: (its index in `live`, where its next token sits, its drafts).
        let mut offers: Vec<(usize, usize, Vec<LlamaToken>)> = Vec::new();
        for (i, l) in live.iter().enumerate() {
            // Only after a token of its own in this decode (not its prompt's).
            if l.prompt_ms.is_none() {
                continue;
            }
            let Some(next) = entries.iter().position(|e| e.seq == l.seq && e.logits) else {
                continue;
            };
            let tail: Vec<LlamaToken> = l.steps[l.steps.len().saturating_sub(draft::MAX_MATCH)..]
                .iter()
                .map(|s| s.token)
                .collect();
            let room = (l.max_tokens - l.generated) as usize;
            let proposed = draft::lookup(&l.suffix, &tail, room.min(spare));
            if !proposed.is_empty() {
                offers.push((i, entries[next].pos, proposed));
            }
        }
        // The offered drafts by expected gain, best first (a request's own in order: each later
        // one's gain is smaller), and how many of them the step takes.
        let mut ranked: Vec<(f64, usize)> = offers
            .iter()
            .enumerate()
            .flat_map(|(o, (_, _, d))| (0..d.len()).map(move |nth| (nth, o)))
            .map(|(nth, o)| (draft::gain(nth), o))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.truncate(spare);
        let take = if prompt_step {
            ranked.len()
        } else {
            let gains: Vec<f64> = ranked.iter().map(|r| r.0).collect();
            self.costs.worth(rows, &gains)
        };
        for (o, (i, after, proposed)) in offers.into_iter().enumerate() {
            let count = ranked[..take].iter().filter(|r| r.1 == o).count();
            let l = &mut live[i];
            for (nth, &token) in proposed.iter().take(count).enumerate() {
                let pos = after + 1 + nth;
                entries.push(Entry {
                    seq: l.seq,
                    token,
                    pos,
                    logits: true,
                    shared: 0,
                });
                l.drafted.push(Drafted {
                    token,
                    pos,
                    row: None,
                });
            }
            Counters::bump(&self.counters.drafted_tokens, count as u64);
        }
    }

    /// Ends a request: its last text and `Done`, or the error; frees its working sequence.
    /// With the split layout the sequence keeps its prefix for the next request.
    fn finish(&mut self, l: Live, result: Result<Option<StopReason>, EngineError>) {
        let kept = match &mut self.books {
            Books::Split(held) if !l.alone => held.len_of(l.seq),
            Books::Split(held) => {
                held.forget(l.seq);
                None
            }
            Books::Unified(_) => None,
        };
        let from = kept.and_then(|len| u32::try_from(len).ok());
        if let Err(e) = self.ctx.clear_kv_cache_seq(Some(l.seq as u32), from, None) {
            tracing::warn!(error = %e, "cannot clear a working sequence");
            if let Books::Split(held) = &mut self.books {
                held.forget(l.seq);
            }
        }
        // An amount the end cut off (`₹7` of `₹7495`, the budget spent mid-number) is not served.
        let served = gate_rules(&l.job.request).map_or(l.text.len(), |rules| {
            let starts: Vec<usize> = l.steps.iter().map(|s| s.at).collect();
            gate::served_to(&l.text, &starts, &rules)
        });
        let Live {
            mut job,
            started,
            mut text,
            streamed,
            generated,
            ttft_ms,
            prompt_ms,
            decode_ms,
            prompt_tokens,
            cached_tokens,
            ..
        } = l;
        match result {
            Ok(Some(stop)) => {
                text.truncate(served.max(streamed));
                if text.len() > streamed
                    && !(job.sink)(StreamEvent::Token(text[streamed..].to_string()))
                {
                    Counters::bump(&self.counters.cancelled, 1);
                    return;
                }
                Counters::bump(&self.counters.generated_tokens, u64::from(generated));
                Counters::bump(&self.counters.completed, 1);
                let total_ms = ms(started.elapsed());
                let prompt_ms = prompt_ms.unwrap_or(total_ms);
                let gen_ms = total_ms - prompt_ms;
                (job.sink)(StreamEvent::Done(Generation {
                    text: text.trim().to_string(),
                    stop,
                    timings: Timings {
                        queue_ms: ms(started.duration_since(job.submitted)),
                        prompt_tokens: count(prompt_tokens),
                        cached_tokens: count(cached_tokens),
                        prompt_ms,
                        ttft_ms,
                        generated_tokens: generated,
                        decode_ms,
                        total_ms,
                        tokens_per_sec: per_sec(generated, gen_ms),
                    },
                }));
            }
            Ok(None) => Counters::bump(&self.counters.cancelled, 1),
            Err(e) => self.fail(job, e),
        }
    }

    fn fail(&mut self, mut job: Job, e: EngineError) {
        Counters::bump(&self.counters.failed, 1);
        tracing::warn!(error = %e, "generation failed");
        (job.sink)(StreamEvent::Error(e));
    }

    /// The test and drill knob (`EngineConfig::step_delay_ms`): after each decode the worker
    /// sleeps, as an engine starved of CPU stalls.
    fn starve(&self) {
        if self.config.step_delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(self.config.step_delay_ms));
        }
    }

    /// Forget every resident prefix and empty the KV cache.
    fn reset(&mut self) {
        self.ctx.clear_kv_cache();
        match &mut self.books {
            Books::Unified(slots) => slots.clear(),
            Books::Split(held) => held.clear(),
        }
    }

    /// Starts a request in working sequence `seq`: its prompt's tokens for the next decode; or it
    /// is done at once (its deadline passed), waits for room, or failed (the job handed back).
    fn admit(&mut self, mut job: Job, seq: i32, live: &[Live]) -> Admitted {
        let started = Instant::now();
        let request = &job.request;
        if request.deadline.is_some_and(|d| started >= d) {
            // Too late to write anything: decode nothing, end as the budget does.
            Counters::bump(&self.counters.requests, 1);
            Counters::bump(&self.counters.completed, 1);
            (job.sink)(StreamEvent::Done(Generation {
                text: String::new(),
                stop: StopReason::Budget,
                timings: Timings {
                    queue_ms: ms(started.duration_since(job.submitted)),
                    ..Timings::default()
                },
            }));
            return Admitted::Done;
        }
        let max_tokens = request.max_tokens.unwrap_or(self.config.max_tokens).max(1);
        let suffix = self
            .model
            .vocab()
            .tokenize(request.suffix.as_bytes(), false, false);
        if suffix.is_empty() {
            Counters::bump(&self.counters.requests, 1);
            return Admitted::Failed(Box::new((job, EngineError::EmptyPrompt)));
        }
        // Cells the requests in flight may still need; their prefixes stay resident.
        let in_flight: usize = live.iter().map(|l| l.reserve).sum();
        let pinned: Vec<i32> = live.iter().filter_map(|l| l.prefix_seq).collect();
        let alone = !request.prefix_cache.unwrap_or(self.config.prefix_cache);
        let share = if alone || matches!(self.books, Books::Split(_)) {
            None
        } else {
            share_for(&request.prefix, &suffix, live)
        };
        let prompted = if alone {
            self.prompt_plain(&request.prefix, &suffix, max_tokens, seq)
        } else if matches!(self.books, Books::Split(_)) {
            self.prompt_held(&request.prefix, &suffix, max_tokens, seq)
        } else {
            self.prompt_cached(
                &request.prefix,
                (&suffix, share),
                max_tokens,
                seq,
                (in_flight, &pinned),
            )
        };
        let (entries, next_pos, prompt_tokens, cached_tokens, prefix_seq) = match prompted {
            Ok(p) => p,
            Err(EngineError::PromptTooLong { .. }) if !live.is_empty() => {
                // No room beside the requests in flight: wait for one to end.
                return Admitted::Wait(Box::new(job));
            }
            Err(e) => {
                Counters::bump(&self.counters.requests, 1);
                if matches!(e, EngineError::Decode { .. }) && live.is_empty() {
                    self.reset();
                }
                return Admitted::Failed(Box::new((job, e)));
            }
        };
        Counters::bump(&self.counters.requests, 1);
        if let Some(share) = share {
            Counters::bump(&self.counters.shared_tokens, share.tokens as u64);
        }
        let model = self.model;
        let sampler = LlamaSampler::chain_simple([
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
        Admitted::Live(
            Box::new(Live {
                reserve: suffix.len() + max_tokens as usize,
                alone,
                prefix_seq,
                drafted: Vec::new(),
                job,
                seq,
                started,
                sampler,
                max_tokens,
                suffix,
                pos: next_pos,
                idx: 0,
                pending: Vec::new(),
                text: String::new(),
                steps: Vec::new(),
                streamed: 0,
                gate: NumberGate::default(),
                generated: 0,
                ttft_ms: 0.0,
                prompt_ms: None,
                decode_ms: 0.0,
                prompt_tokens,
                cached_tokens,
            }),
            entries,
            share,
        )
    }

    /// One step of a live request from its fresh logits: sample (through the number gate),
    /// stream what may be shown, and say what to decode next or why it ended. A sampled token
    /// that is the draft decoded after the last one is kept as it is (its cell and row are
    /// there) and the next is sampled from its row, until one is not: the drafts from it on leave
    /// the cache.
    fn advance(&mut self, l: &mut Live) -> Result<Advance, EngineError> {
        loop {
            let next = self.advance_token(l);
            let Ok(Advance::Decode(entry)) = &next else {
                // Ended (its sequence is cleared) or failed.
                l.drafted.clear();
                return next;
            };
            if let Some(first) = l.drafted.first().copied() {
                if let Some(row) = first
                    .row
                    .filter(|_| first.token == entry.token && first.pos == entry.pos)
                {
                    l.drafted.remove(0);
                    l.idx = row;
                    Counters::bump(&self.counters.accepted_drafts, 1);
                    continue;
                }
                l.drafted.clear();
                if !self.drop_tail(l.seq, first.pos, "taking back drafts")? {
                    return Ok(Advance::Finished(StopReason::EndOfText));
                }
            }
            return next;
        }
    }

    /// [`Self::advance`] for one token.
    fn advance_token(&mut self, l: &mut Live) -> Result<Advance, EngineError> {
        let vocab = self.model.vocab();
        let request = &l.job.request;
        if l.generated >= l.max_tokens {
            return Ok(Advance::Finished(StopReason::MaxTokens));
        }
        let budget = Duration::from_millis(self.config.budget_ms);
        if l.started.elapsed() >= budget || request.deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Advance::Finished(StopReason::Budget));
        }
        let token = match &request.allowed_numbers {
            None => {
                let so_far = (l.text.as_str(), l.pending.as_slice());
                let Sampled::Token(token) =
                    self.sample_checked(&mut l.sampler, l.idx, so_far, None, (false, false, false))
                else {
                    return Ok(Advance::Finished(StopReason::DeadEnd));
                };
                token
            }
            Some(_) => {
                let Some(rules) = gate_rules(request) else {
                    return Ok(Advance::Finished(StopReason::EndOfText));
                };
                let rules = gate::Rules {
                    leads_barred: l.gate.leads_barred(),
                    ..rules
                };
                let starts: Vec<usize> = l.steps.iter().map(|s| s.at).collect();
                let space = l.gate.space_rewind(&l.text, &starts);
                let so_far = (l.text.as_str(), l.pending.as_slice());
                let words_only = l.gate.words_only();
                let mut drawn = self.sample_checked(
                    &mut l.sampler,
                    l.idx,
                    so_far,
                    Some(rules),
                    (words_only, space.is_some(), l.gate.may_take_back_words()),
                );
                if let Sampled::AmountInWords(token) = drawn {
                    // The model reached for the word that makes an amount in words: take the
                    // phrase back to before the words that led into it, and write something
                    // else there (the amount in figures, judged in its role, or no amount).
                    let mut bytes = Vec::new();
                    vocab.token_to_piece_into(token, &mut bytes, false, None);
                    let piece = String::from_utf8_lossy(&bytes);
                    let step =
                        l.gate
                            .words_rewind((&l.text, &piece), &starts, l.streamed, rules.amounts);
                    if let Some(step) = step {
                        let rewound = self.rewind(l, step)?;
                        if matches!(rewound, Advance::Decode(_)) {
                            l.gate.rewound_words();
                            Counters::bump(&self.counters.words_rewinds, 1);
                        }
                        return Ok(rewound);
                    }
                    // Nothing to take back: the word is refused like any other.
                    drawn = self.sample_checked(
                        &mut l.sampler,
                        l.idx,
                        so_far,
                        Some(rules),
                        (words_only, space.is_some(), false),
                    );
                }
                match drawn {
                    Sampled::Token(token) => token,
                    taken_back => {
                        // After a lone space, what the model reached for is refused: take the
                        // space back, the word comes with its own. At a dead end the number
                        // being written can only end unlisted: take it back and write words
                        // where it began.
                        let space_back = matches!(taken_back, Sampled::Refused);
                        let mut leads = false;
                        let step = if space_back {
                            space
                        } else if let DeadEnd::Rewind { step, leads: led } =
                            l.gate
                                .dead_end(&l.text, &starts, rules.money, rules.amounts)
                        {
                            leads = led;
                            Some(step)
                        } else {
                            Counters::bump(&self.counters.dead_end_stops, 1);
                            None
                        };
                        let Some(step) = step else {
                            return Ok(Advance::Finished(StopReason::DeadEnd));
                        };
                        let rewound = self.rewind(l, step)?;
                        if matches!(rewound, Advance::Decode(_)) {
                            let counter = if space_back {
                                l.gate.rewound_space();
                                &self.counters.space_rewinds
                            } else {
                                l.gate.rewound(leads);
                                &self.counters.rewinds
                            };
                            Counters::bump(counter, 1);
                        }
                        return Ok(rewound);
                    }
                }
            }
        };
        if vocab.is_eog(token) {
            return Ok(Advance::Finished(StopReason::EndOfText));
        }
        l.generated += 1;
        if l.generated == 1 {
            l.ttft_ms = ms(l.started.elapsed());
        }
        l.steps.push(Step {
            token,
            pos: l.pos,
            at: l.text.len(),
        });
        vocab.token_to_piece_into(token, &mut l.pending, false, None);
        let piece = take_utf8(&mut l.pending);
        // Whitespace and newlines before any visible text are skipped; after it, a newline
        // ends the copy.
        let piece = if l.text.is_empty() {
            piece.trim_start().to_string()
        } else {
            piece
        };
        let (piece, line_ended) = match gate::copy_ends_at(&l.text, &piece) {
            Some(at) => (piece[..at].to_string(), true),
            None => (piece, false),
        };
        // After a rewind, words until a letter is written: not the same number again.
        l.gate.wrote(&piece);
        l.text.push_str(&piece);
        let starts: Vec<usize> = l.steps.iter().map(|s| s.at).collect();
        let request = &l.job.request;
        let hold = gate::held_from(
            &l.text,
            &starts,
            request.money_roles.as_ref(),
            &request.amount_words,
        );
        if hold > l.streamed {
            if !(l.job.sink)(StreamEvent::Token(l.text[l.streamed..hold].to_string())) {
                return Ok(Advance::Cancelled);
            }
            l.streamed = hold;
        }
        if line_ended {
            return Ok(Advance::Finished(StopReason::EndOfLine));
        }
        let entry = Entry {
            seq: l.seq,
            token,
            pos: l.pos,
            logits: true,
            shared: 0,
        };
        l.pos += 1;
        Ok(Advance::Decode(entry))
    }

    /// Takes `l`'s copy back to before its generated step `at` (a number at a dead end, a lone
    /// space): the step's cells and all after it leave the sequence, its text leaves the copy
    /// (but what was streamed), and the token before it is decoded again for the logits that
    /// choose again. The copy ends there when the model's cache cannot drop a tail.
    fn rewind(&mut self, l: &mut Live, at: usize) -> Result<Advance, EngineError> {
        let step = l.steps[at];
        let before = at
            .checked_sub(1)
            .map_or(l.suffix.last().copied(), |b| Some(l.steps[b].token))
            .ok_or(EngineError::EmptyPrompt)?;
        let from = step.pos.checked_sub(1).ok_or(EngineError::EmptyPrompt)?;
        if !self.drop_tail(l.seq, from, "rewinding a working sequence")? {
            // The model's cache cannot drop a tail (recurrent models).
            return Ok(Advance::Finished(StopReason::EndOfText));
        }
        l.pos = step.pos;
        l.drafted.clear();
        l.steps.truncate(at);
        l.text.truncate(step.at.max(l.streamed));
        l.pending.clear();
        Ok(Advance::Decode(Entry {
            seq: l.seq,
            token: before,
            pos: from,
            logits: true,
            shared: 0,
        }))
    }

    /// Clears working sequence `seq`'s cells from position `from` on (a rewound number, drafts
    /// not kept). `false` when the model's cache cannot drop a tail (recurrent models).
    fn drop_tail(
        &mut self,
        seq: i32,
        from: usize,
        during: &'static str,
    ) -> Result<bool, EngineError> {
        let pos = u32::try_from(from).map_err(|source| {
            DecodeFailure::during(during)(DecodeFailure::Position { pos: from, source })
        })?;
        self.ctx
            .clear_kv_cache_seq(Some(seq as u32), Some(pos), None)
            .map_err(DecodeFailure::during(during))
    }

    /// Sample a token whose bytes may follow the copy's unfinished character
    /// ([`gate::bytes_may_follow`]) and, with `rules`, that the gate allows after `text`: every
    /// number in `text` + token among `allowed` (or a prefix of one, for the number being
    /// written), and the gate's other rules ([`gate::judge`]); no character the rules' stray
    /// characters refuse, nor a stray symbol. A rejected token is left out and the shortlist
    /// drawn again; the last try, and every try with `words_only`, leaves out every token that
    /// begins no word (a digit, a currency sign, a space alone) so the copy goes on in words.
    /// Symbols are left out of every draw for copy whose facts have none.
    /// [`Sampled::DeadEnd`] when nothing acceptable turns up; with `after_lone_space`,
    /// [`Sampled::Refused`] as soon as the first draw is refused or glues a word to the space
    /// ([`gate::glues_a_word`]). Only the token returned is accepted into the chain's state (the
    /// repetition penalty's history).
    fn sample_checked(
        &mut self,
        sampler: &mut LlamaSampler,
        idx: i32,
        (text, pending): (&str, &[u8]),
        rules: Option<gate::Rules<'_>>,
        (words_only, after_lone_space, take_back_words): (bool, bool, bool),
    ) -> Sampled {
        const MAX_REJECTIONS: usize = 8;
        let vocab = self.model.vocab();
        let suppressed = self.config.suppressed_chars.as_str();
        let stray = rules.as_ref().map(|r| r.stray);
        let may_write = |c: char| {
            !never_written(c, suppressed)
                && !stray.is_some_and(|s| s.refuses(c) || s.refuses_symbol(c))
        };
        let mut piece = Vec::new();
        let mut acceptable = |token: LlamaToken| {
            piece.clear();
            vocab.token_to_piece_into(token, &mut piece, false, None);
            if !gate::bytes_may_follow(pending, &piece, may_write) {
                return false;
            }
            let Some(rules) = &rules else {
                return true;
            };
            // The end of text finishes a number still being written: it must be complete.
            if vocab.is_eog(token) {
                return gate::may_end(text, rules)
                    && gate::judge(text, Next::EndOfText, rules) == Candidate::Allow;
            }
            let piece = String::from_utf8_lossy(&piece);
            if let Some(at) = gate::copy_ends_at(text, &piece) {
                // The copy ends here (unless nothing visible was written yet).
                let copy = format!("{text}{}", &piece[..at]);
                if !copy.trim().is_empty() && !gate::may_end(&copy, rules) {
                    return false;
                }
            }
            gate::judge(text, Next::Piece(&piece), rules) == Candidate::Allow
        };
        let mut glued = Vec::new();
        let mut glues_a_word = |token: LlamaToken| {
            glued.clear();
            vocab.token_to_piece_into(token, &mut glued, false, None);
            gate::glues_a_word(&String::from_utf8_lossy(&glued))
        };
        let mut said = Vec::new();
        let mut completes_amount_words = |token: LlamaToken| {
            said.clear();
            vocab.token_to_piece_into(token, &mut said, false, None);
            rules.as_ref().is_some_and(|r| {
                gate::completes_an_amount_in_words(text, &String::from_utf8_lossy(&said), r)
            })
        };
        let symbols = stray.is_some_and(StrayChars::refuses_all_symbols);
        let logits = self.ctx.get_logits_ith(idx);
        let mut rejected = Vec::new();
        for attempt in 0..=MAX_REJECTIONS {
            let left_out = LeftOut {
                not_words: words_only || attempt == MAX_REJECTIONS,
                symbols,
            };
            let Some(token) = self.sampling.pick(logits, sampler, &rejected, left_out) else {
                return Sampled::DeadEnd;
            };
            let allowed = acceptable(token);
            if after_lone_space && (!allowed || glues_a_word(token)) {
                return Sampled::Refused;
            }
            if attempt == 0 && take_back_words && !allowed && completes_amount_words(token) {
                return Sampled::AmountInWords(token);
            }
            if allowed {
                sampler.accept(token);
                return Sampled::Token(token);
            }
            rejected.push(token);
        }
        Sampled::DeadEnd
    }

    /// The whole prompt from an emptied KV cache into working sequence `seq` (the request runs
    /// alone): its tokens for the next decode, the position after them, tokens decoded and
    /// cached.
    fn prompt_plain(
        &mut self,
        prefix: &str,
        suffix: &[LlamaToken],
        max_tokens: u32,
        seq: i32,
    ) -> Result<Prompt, EngineError> {
        self.reset();
        let mut tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, false);
        tokens.extend_from_slice(suffix);
        if tokens.len() + max_tokens as usize > self.seq_cells() as usize {
            return Err(EngineError::PromptTooLong {
                tokens: tokens.len(),
                max_tokens,
                n_ctx: self.seq_cells(),
            });
        }
        let n = tokens.len();
        Ok((entries_for(seq, &tokens, 0), n, n, 0, None))
    }

    /// Makes the prefix resident (decoding it if needed) and shares it into working sequence
    /// `seq`; the suffix's tokens after it are for the next decode. `in_flight`: cells the
    /// requests already running may still need, and their prefix sequences (never evicted).
    fn prompt_cached(
        &mut self,
        prefix: &Arc<str>,
        (suffix, share): (&[LlamaToken], Option<Share>),
        max_tokens: u32,
        seq: i32,
        (in_flight, pinned): (usize, &[i32]),
    ) -> Result<Prompt, EngineError> {
        let Some(prefixes) = self.books.slots() else {
            return self.prompt_held(prefix, suffix, max_tokens, seq);
        };
        prefixes.tick();
        let touched = prefixes.touch(prefix);
        let reserve = suffix.len() + max_tokens as usize + in_flight + self.pad_cells();
        let (prefix_seq, len, fresh) = match touched {
            Some((prefix_seq, len)) => {
                self.make_room(reserve, Some(prefix_seq), pinned)?;
                (prefix_seq, len, 0)
            }
            None => {
                let tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, false);
                self.make_room(tokens.len() + reserve, None, pinned)?;
                let free = self.books.slots().and_then(|p| p.free_seq());
                let prefix_seq = free.ok_or(EngineError::PromptTooLong {
                    tokens: tokens.len(),
                    max_tokens,
                    n_ctx: self.n_ctx,
                })?;
                self.decode_prefix(&tokens, prefix_seq)?;
                Counters::bump(&self.counters.prefix_decodes, 1);
                self.books
                    .slots()
                    .ok_or(EngineError::Config("prefix books of another layout"))?
                    .insert(Arc::clone(prefix), prefix_seq, tokens.len());
                (prefix_seq, tokens.len(), tokens.len())
            }
        };
        self.ctx
            .copy_kv_cache_seq(prefix_seq, seq, None, None)
            .map_err(DecodeFailure::during("sharing the prefix"))?;
        let taken = share.map_or(0, |s| s.tokens);
        if let Some(share) = share {
            let cell = |pos: usize| {
                u32::try_from(pos).map_err(|source| {
                    DecodeFailure::during("sharing a suffix")(DecodeFailure::Position {
                        pos,
                        source,
                    })
                })
            };
            self.ctx
                .copy_kv_cache_seq(share.from, seq, Some(cell(len)?), Some(cell(len + taken)?))
                .map_err(DecodeFailure::during("sharing a suffix"))?;
        }
        Ok((
            entries_for(seq, &suffix[taken..], len + taken),
            len + suffix.len(),
            fresh + suffix.len() - taken,
            len - fresh + taken,
            Some(prefix_seq),
        ))
    }

    /// The split layout's prompt: working sequence `seq` gets the prefix (it holds it already,
    /// restores its saved cells, or decodes and saves it) and keeps it after the request; the
    /// suffix's tokens after it are for the next decode.
    fn prompt_held(
        &mut self,
        prefix: &Arc<str>,
        suffix: &[LlamaToken],
        max_tokens: u32,
        seq: i32,
    ) -> Result<Prompt, EngineError> {
        let cells = self.seq_cells() as usize;
        let Books::Split(held) = &mut self.books else {
            return Err(EngineError::Config("prefix books of another layout"));
        };
        let mut source = held.source(seq, prefix);
        if !matches!(source, Source::Held(_)) {
            held.forget(seq);
        }
        if let Source::Stored { slot, .. } = source {
            if self.saved.get(slot).is_none_or(Option::is_none) {
                source = Source::Decode; // never saved (its save failed): decode it
            }
        }
        let too_long = |len: usize| EngineError::PromptTooLong {
            tokens: len + suffix.len(),
            max_tokens,
            n_ctx: cells as u32,
        };
        let fits = |len: usize| len + suffix.len() + max_tokens as usize <= cells;
        let (len, fresh) = match source {
            Source::Held(len) => (len, 0),
            Source::Stored { slot, len } => {
                if !fits(len) {
                    return Err(too_long(len));
                }
                self.ctx
                    .clear_kv_cache_seq(Some(seq as u32), None, None)
                    .map_err(DecodeFailure::during("clearing a sequence"))?;
                if let Some(state) = self.saved.get(slot).and_then(Option::as_ref) {
                    self.ctx
                        .state_seq_set(state, seq)
                        .map_err(DecodeFailure::during("restoring a prefix"))?;
                }
                Counters::bump(&self.counters.prefix_restores, 1);
                (len, 0)
            }
            Source::Decode => {
                let tokens = self.model.vocab().tokenize(prefix.as_bytes(), true, false);
                if !fits(tokens.len()) {
                    return Err(too_long(tokens.len()));
                }
                self.ctx
                    .clear_kv_cache_seq(Some(seq as u32), None, None)
                    .map_err(DecodeFailure::during("clearing a sequence"))?;
                self.decode_prefix(&tokens, seq)?;
                Counters::bump(&self.counters.prefix_decodes, 1);
                self.save_prefix(prefix, tokens.len(), seq);
                (tokens.len(), tokens.len())
            }
        };
        if let Books::Split(held) = &mut self.books {
            held.set(seq, Arc::clone(prefix), len);
        }
        Ok((
            entries_for(seq, suffix, len),
            len + suffix.len(),
            fresh + suffix.len(),
            len - fresh,
            None,
        ))
    }

    /// Saves the cells of `prefix` (`len` tokens), just decoded alone into `seq`, in a slot of
    /// the split layout's store. A failed save costs only a later decode.
    fn save_prefix(&mut self, prefix: &Arc<str>, len: usize, seq: i32) {
        let Books::Split(held) = &mut self.books else {
            return;
        };
        let Some(slot) = held.store(Arc::clone(prefix), len) else {
            return;
        };
        let state = match self.ctx.state_seq_get(seq, LlamaStateSeqFlags::empty()) {
            Ok(state) => Some(state),
            Err(e) => {
                tracing::warn!(error = %e, "cannot save a prefix's cells; it will be decoded again");
                None
            }
        };
        if let Some(saved) = self.saved.get_mut(slot) {
            *saved = state;
        }
    }

    /// Evict least recently used prefixes (never `keep`) until `need` more cells fit beside the
    /// resident prefixes and, for a new prefix, a sequence slot is free.
    fn make_room(
        &mut self,
        need: usize,
        keep: Option<i32>,
        pinned: &[i32],
    ) -> Result<(), EngineError> {
        let n_ctx = self.n_ctx;
        while let Some(evicted) = match self.books.slots() {
            Some(p) => p.evict_for(need, keep, pinned, n_ctx)?,
            None => None,
        } {
            let seq = u32::try_from(evicted).map_err(DecodeFailure::during("evicting a prefix"))?;
            self.ctx
                .clear_kv_cache_seq(Some(seq), None, None)
                .map_err(DecodeFailure::during("evicting a prefix"))?;
        }
        Ok(())
    }

    /// Decodes a prefix into its own sequence, in `n_batch` chunks, without logits.
    fn decode_prefix(&mut self, tokens: &[LlamaToken], seq: i32) -> Result<(), EngineError> {
        let chunk_len = self.config.n_batch as usize;
        for (c, chunk) in tokens.chunks(chunk_len).enumerate() {
            self.batch.clear();
            for (j, token) in chunk.iter().enumerate() {
                self.batch
                    .add(*token, to_pos(c * chunk_len + j)?, &[seq], false)
                    .map_err(DecodeFailure::during("adding a prefix token"))?;
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(DecodeFailure::during("decoding a prefix"))?;
        }
        Ok(())
    }

    /// Decodes `entries` (every live request's next tokens) in `n_batch` chunks cut from the
    /// end, so the tokens whose logits are wanted (each request's last) are all in the last
    /// decode, whose logits llama.cpp keeps. Returns each such sequence's batch index. Padding
    /// rows (in the scratch sequence) round the rows of logits up as the config says; their
    /// cells are cleared after the decode and their indices are not returned.
    fn decode_entries(&mut self, entries: &[Entry]) -> Result<Vec<(i32, i32)>, EngineError> {
        // Tokens without logits first, each sequence's in order; then the one with logits of
        // each sequence, which is its last; then the padding rows.
        let mut ordered: Vec<Entry> = entries
            .iter()
            .filter(|e| !e.logits)
            .chain(entries.iter().filter(|e| e.logits))
            .copied()
            .collect();
        let outputs = entries.iter().filter(|e| e.logits).count();
        let pads = self.config.padded_outputs(outputs) - outputs;
        let scratch = self.scratch_seq();
        if let Some(last) = ordered.last().copied() {
            ordered.extend((0..pads).map(|pos| Entry {
                seq: scratch,
                token: last.token,
                pos,
                logits: true,
                shared: 0,
            }));
        }
        let chunk_len = self.config.n_batch as usize;
        let first = ordered.len() % chunk_len;
        let mut chunks: Vec<&[Entry]> = Vec::new();
        if first > 0 {
            chunks.push(&ordered[..first]);
        }
        chunks.extend(ordered[first..].chunks(chunk_len));
        let mut indices = Vec::new();
        let mut seqs: Vec<i32> = Vec::with_capacity(self.config.parallel as usize);
        for chunk in chunks {
            self.batch.clear();
            indices.clear();
            for (i, e) in chunk.iter().enumerate() {
                seqs.clear();
                seqs.push(e.seq);
                let mut shared = e.shared;
                while shared != 0 {
                    seqs.push(shared.trailing_zeros() as i32);
                    shared &= shared - 1;
                }
                self.batch
                    .add(e.token, to_pos(e.pos)?, &seqs, e.logits)
                    .map_err(DecodeFailure::during("adding a token"))?;
                if e.logits && e.seq < self.work_seqs() {
                    indices.push((e.seq, i as i32));
                }
            }
            self.ctx
                .decode(&mut self.batch)
                .map_err(DecodeFailure::during("decoding a batch"))?;
        }
        if pads > 0 {
            let scratch = u32::try_from(scratch).map_err(DecodeFailure::during("padding"))?;
            self.ctx
                .clear_kv_cache_seq(Some(scratch), None, None)
                .map_err(DecodeFailure::during("clearing the padding rows"))?;
        }
        Ok(indices)
    }
}

/// A request admitted: live with its prompt tokens, done at once, or waiting (the cache has no
/// room for it beside the requests in flight until one of them ends).
enum Admitted {
    Live(Box<Live>, Vec<Entry>, Option<Share>),
    Done,
    Wait(Box<Job>),
    Failed(Box<(Job, EngineError)>),
}

/// A request's prompt for the next decode: its tokens, the position after them, tokens decoded
/// and reused, and the prefix sequence it shares.
type Prompt = (Vec<Entry>, usize, usize, usize, Option<i32>);

/// `tokens` for sequence `seq` from position `start`, logits on the last.
fn entries_for(seq: i32, tokens: &[LlamaToken], start: usize) -> Vec<Entry> {
    tokens
        .iter()
        .enumerate()
        .map(|(i, &token)| Entry {
            seq,
            token,
            pos: start + i,
            logits: i + 1 == tokens.len(),
            shared: 0,
        })
        .collect()
}

/// What a new request with `prefix` and `suffix` takes from a request in flight: the most first
/// suffix tokens any of them with the same prefix has in common with it, never either's last
/// (the new request's logits come from its own last token; a rewind may take back the other's
/// last cell). `None` when no request in flight shares a first token.
fn share_for(prefix: &str, suffix: &[LlamaToken], live: &[Live]) -> Option<Share> {
    live.iter()
        .filter(|l| !l.alone && *l.job.request.prefix == *prefix)
        .map(|l| Share {
            from: l.seq,
            tokens: common_start(&l.suffix, suffix)
                .min(l.suffix.len().saturating_sub(1))
                .min(suffix.len().saturating_sub(1)),
        })
        .filter(|s| s.tokens > 0)
        .max_by_key(|s| s.tokens)
}

/// How many first tokens `a` and `b` have in common.
fn common_start(a: &[LlamaToken], b: &[LlamaToken]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Steps timed for each row count when the engine starts ([`Worker::time_rows`]): with one
/// round not counted, 36 decodes of 1 to 4 rows, about half a second here (and under qemu's
/// emulation, 40-60 times slower, well under a minute of the ARM check).
const CALIBRATION_STEPS: usize = 8;

/// The context those steps attend to (what matters is how the rows compare, not the context's
/// share of a step).
const CALIBRATION_CONTEXT: usize = 32;

/// `len` tokens of plain shop text, repeated: a context for timing decodes.
fn filler_tokens(model: &LlamaModel, len: usize) -> Result<Vec<LlamaToken>, EngineError> {
    let text = "Fresh linen for the summer, soft and light, now in the store. ";
    let pool = model.vocab().tokenize(text.as_bytes(), false, false);
    if pool.is_empty() {
        return Err(EngineError::EmptyPrompt);
    }
    Ok((0..len).map(|i| pool[i % pool.len()]).collect())
}

fn to_pos(pos: usize) -> Result<i32, EngineError> {
    i32::try_from(pos).map_err(|source| {
        DecodeFailure::during("placing a token")(DecodeFailure::Position { pos, source })
    })
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `n` per second over `ms` milliseconds (0 over no time).
fn per_sec(n: u32, ms: f64) -> f64 {
    if ms > 0.0 {
        f64::from(n) * 1000.0 / ms
    } else {
        0.0
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_copy_has_a_suppressed_unshown_or_control_character_but_the_newline() {
        for c in ['$', '\u{fffd}', '▌', '\u{e000}', '\u{80}', '\t', '\r'] {
            assert!(never_written(c, "$€"), "{c:?}");
        }
        for c in ['\n', '₹', 'a', '价', ' '] {
            assert!(!never_written(c, "$€"), "{c:?}");
        }
    }
}
