//! The llama.cpp engine: one worker thread owns the backend, the model and one context; callers
//! hold a cloneable [`EngineHandle`] and receive a stream of [`StreamEvent`]s per request.
//!
//! Layout: this file holds the configuration, the request/result types and the handle (the
//! caller's side of the channels); `worker` runs the worker thread (prompt decoding, sampling,
//! streaming); `prefix` keeps the books of the resident prompt prefixes (LRU eviction); `gate`
//! is the number gate, pure text logic deciding which numbers may be written, when text may be
//! streamed and when a number is taken back; `draft` proposes the tokens of a request's record
//! that its copy is likely to write next (pure, over token ids); `kernels` knows which CPU kernels llama.cpp was
//! compiled with and whether this CPU has them.
//!
//! Invariants:
//! - llama.cpp objects never leave the worker thread. The context borrows the model on the
//!   worker's stack; no lifetime is transmuted. This file uses no llama.cpp type: callers only
//!   hold channels and counters.
//! - `LlamaBackend` is initialised once per process (a process-wide `OnceLock`); llama.cpp logs go
//!   to `tracing`.
//! - The model file is verified against its manifest (size and sha256) before it is loaded.
//! - The engine does not start on a CPU that lacks an instruction set llama.cpp was compiled
//!   with ([`EngineError::Kernels`]).
//! - Up to `parallel` requests run at once, started in submission order; each step decodes one
//!   token of every request in flight in one batch, and waiting requests join at the next step,
//!   [`EngineConfig::admit_per_step`] a step (one by default: a group's suffixes are decoded one
//!   a step, each in the batch of the next tokens of those before it). Every request ends with exactly one `Done` or `Error` event, unless the
//!   caller dropped its stream: the worker notices at the next token it tries to send, stops,
//!   frees its working sequence and takes the next request.
//! - [`EngineHandle::stop`] ends every request in flight or waiting with
//!   [`EngineError::WorkerGone`] and is acknowledged only after the worker freed the context and
//!   the model: after it no llama.cpp code runs (the daemon stops the engine before it exits).
//! - KV cache layout ([`KvLayout`]). Sequences `0..parallel` are the working sequences, one per
//!   request in flight. The last sequence is the scratch sequence of padding rows
//!   ([`EngineConfig::pad_outputs`]), empty outside a decode.
//!   - `unified` (the default; `n_seq_max = parallel + prefix_slots + 1`, one cache of `n_ctx`
//!     cells): the `prefix_slots` sequences after the working ones each hold one decoded prompt
//!     prefix (one per copy style), kept across requests. A request copies its prefix sequence
//!     into its working sequence (`copy_kv_cache_seq`, cells are shared, not duplicated) and
//!     decodes only its suffix, less the first tokens a request in flight with the same prefix
//!     has in common with it (shared the same way: one product's record for several shoppers is
//!     decoded once). When prefixes plus the request do not fit `n_ctx`, the least recently
//!     used prefix is evicted and re-decoded on its next use.
//!   - `split` (llama.cpp's non-unified cache, `n_seq_max = parallel`, plus the scratch
//!     sequence when padding): every sequence has a cache of its own of `seq_ctx` cells, and a
//!     token's attention reads only its own sequence's cells. A working sequence keeps the
//!     prefix of its last request (its request's own cells are cleared when it ends). A decoded
//!     prefix's cells are also saved in memory (`prefix_slots` of them, least recently used out
//!     first). A request runs in a free sequence holding its prefix when there is one, else its
//!     sequence restores the saved cells (`state_seq_set`), else decodes the prefix. Nothing is
//!     shared between sequences: a request decodes its whole suffix.
//! - Padding rows never reach a request: their logits are not sampled and their cells are
//!   cleared right after the decode.
//! - Drafts ([`EngineConfig::draft_rows`]): the rows of logits a step's own tokens leave spare
//!   under `draft_rows` may carry draft tokens (the continuation of a run of the request's
//!   record its copy has begun) at the positions after a request's next token; a step of
//!   sampled tokens takes only the drafts that raise its expected tokens per millisecond by
//!   more than the timing's noise (5 %), by the step times of 1 to `draft_rows` rows the worker measures when it starts (fixed from
//!   then on: the drafts a step takes depend on its tokens alone). Every token is still
//!   sampled from the model's logits through the gate; a draft is kept only when it is the token
//!   sampled (its cell and row are then already there), and the drafts from the first one not
//!   sampled leave the KV cache before anything else is decoded. Drafts change the batch's
//!   shape, so a copy may differ by rounding as it does in a shared batch, never by rule.
//! - The bare decode loop ([`EngineHandle::decode_widths`]) runs only while no request is in
//!   flight (requests wait for it), and leaves the KV cache empty.
//! - Without the prefix cache the whole KV cache is cleared and the whole prompt decoded from
//!   position 0, so a fixed seed reproduces the same output.
//! - Generation stops at the end of the first non-empty line, at end of text, at `max_tokens`,
//!   or when the wall-clock budget is spent or the request's deadline has passed (both
//!   [`StopReason::Budget`]); a request started after its deadline decodes nothing.
//! - A caller that waits with [`GenerationStream::until`] never waits past its deadline, even
//!   while the worker is inside one long decode: it gets [`EngineError::OutOfTime`] and drops the
//!   stream, which cancels the request.
//! - Sampling: the top-k of the row without the tokens with `suppressed_chars` or a character
//!   never shown ([`crate::numbers::never_shown`]: `�`, the screen's drawing characters,
//!   private use; never sampled, not even spelled in byte tokens),
//!   found in Rust (`shortlist`), then the request's chain: repetition penalty → temperature →
//!   seeded dist. With `allowed_numbers` a token that would write a number outside the list is
//!   left out and the shortlist drawn again, so the model cannot invent prices or sizes (the
//!   guardrails still check every output). A number is streamed only once it is finished; one
//!   that can only end unlisted is taken back (its cells leave the KV cache, the token before it
//!   is decoded again) and the copy goes on in words from where it began, at most
//!   `gate::MAX_REWINDS` times per request. The gate is model-free and total: no text makes it
//!   panic.
//! - The public paths (`crate::copy::engine::{EngineHandle, EngineConfig, EngineError, ...}`)
//!   are all defined here; the submodules are private.

// Without the `llama` feature the gate and the prefix books have no user but their tests.
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
mod draft;
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
mod gate;
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
mod kernels;
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
mod prefix;
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
mod shortlist;
#[cfg(feature = "llama")]
mod worker;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::copy::guardrails::{
    AmountWords, LetterShare, PlaceNames, Repeats, StrayChars, WordClaims,
};
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
    /// KV cache size in tokens, shared by all resident prefixes and the requests in flight:
    /// room for `prefix_slots` prefixes and `parallel` requests (suffix and `max_tokens`). The
    /// default fits the built-in packs with room to spare: the four zh-CN prefixes take 1,670
    /// tokens (en 1,566) and four requests at most about 4 × (84 suffix + 48 generated) more. A
    /// request that does not fit beside the requests in flight waits; prefixes in use are never
    /// evicted. llama.cpp rounds it up to a multiple of 256.
    pub n_ctx: u32,
    /// How the KV cache is laid out ([`KvLayout`]). `unified`, the default, is one cache of
    /// `n_ctx` cells for the prefixes and the requests in flight. `split` gives every working
    /// sequence a cache of its own (`seq_ctx` cells): a token attends only to its own request's
    /// cells, and attention runs as matrix products (flash attention off with `f16`): a single
    /// request's first token comes sooner, but its later steps and several requests together are
    /// slower.
    pub kv_layout: KvLayout,
    /// With the `split` layout, the cells of each working sequence: its prefix, suffix and
    /// `max_tokens` (the longest built-in prefix is 445 tokens, zh-CN; a suffix at most about
    /// 84). A multiple of 256 (llama.cpp rounds each sequence's cache up to one).
    pub seq_ctx: u32,
    /// llama.cpp's flash attention: `auto` (the default) is on, except with the `split` layout
    /// and an `f16` cache, where attention as matrix products decodes a suffix faster. `q8_0`
    /// needs it on.
    pub flash_attention: FlashAttention,
    /// Element type of the KV cache. `f16` (the default) is the faster on a 2-core x86 CPU: time
    /// to first token 112 → 96 ms and a decode step 17.4 → 15.6 ms against `q8_0` in one
    /// sitting (README § Measured figures), for 18 KB a token of the default model instead of 9
    /// (n_ctx 2304: 41 MB instead of 21; peak RSS 284 MB against 266). `q8_0` turns flash
    /// attention on, which llama.cpp needs for a quantized V cache.
    pub kv_cache: KvCache,
    /// Map the model file instead of reading it into memory. Off by default: llama.cpp copies
    /// the weights it repacks for the CPU's matrix kernels, and with the file mapped the
    /// originals stay resident beside the copies (13 MB of the default model).
    pub mmap: bool,
    /// Logical batch size (tokens per `decode` call).
    pub n_batch: u32,
    /// Physical batch size; with `n_ctx` it bounds the compute buffer (a row of logits is 1 MB
    /// with the default model's vocabulary, and the buffer is sized for a whole batch of them).
    pub n_ubatch: u32,
    /// Prompt prefixes kept decoded at once (one per style).
    pub prefix_slots: u32,
    /// Requests decoded together, one sequence each, one token of every one per `decode`.
    /// Requests beyond it wait for a sequence to finish. On a 2-core x86 CPU with the default
    /// model and llama.cpp's AVX2 kernels four sequences decode about 1.5 times the tokens per
    /// second of one, three no more than one (hence `pad_outputs`); with its AVX-512 kernels
    /// (`kernels`) three decode twice the tokens per second of one, four 2.5 times. The screen
    /// asks for a session's three picks as one group.
    pub parallel: u32,
    /// Waiting requests one step admits (0: all that have a free working sequence). With 1, the
    /// default, a group (a session's three picks) is admitted one request a step: each next
    /// suffix is decoded in the same batch as the next token of those before it, so the first
    /// pick starts writing after its own suffix instead of after all three, and the group's
    /// later steps carry requests already a token or two ahead; the last of the group starts when
    /// it would have (a suffix's tokens cost the same in either batch). The schedule is the same
    /// however the group's requests arrive: with 0 it depends on which are queued when the worker
    /// wakes (the picks are sent from threads of their own). Measured: a session's time about
    /// the same either way, through the kiosk and `bench copy` alike (README § Measured figures).
    pub admit_per_step: u32,
    /// Requests `copy warm` decodes together (a process of its own: the kiosk's screen asks for
    /// three picks at a time and its idle warm-up writes one blurb at a time). Its context grows by
    /// [`REQUEST_CELLS`] for each request beyond `parallel` ([`EngineConfig::for_warm_up`]). On a
    /// 2-core x86 CPU eight in flight write about 1.5 times the blurbs per second of one at a time.
    pub warm_parallel: u32,
    /// With more than two requests in flight, each decode computes logits for a multiple of
    /// this many rows, the extra rows being a throwaway token in a scratch sequence: llama.cpp's
    /// x86 AVX2 matrix kernels take longer for 3, 5 or 7 rows of logits than for 4 or 8 (the 262,144
    /// × 640 output matrix of the default model dominates a step; `bench copy` prints the bare
    /// decode loop by width). 0 or 1: no padding. Default: 4 with the AVX2 kernels, 1 with the
    /// AVX-512 ones, where three rows are cheaper than four ([`kernels::default_pad_outputs`]).
    pub pad_outputs: u32,
    /// Rows of logits a decode may have in all, those its requests' own next tokens leave
    /// spare going to draft tokens: the continuation of a run of the request's record its copy
    /// has begun (a name, a price), decoded beside the token just sampled and kept where the
    /// model samples the same token (`draft`: the copy is the one written without drafts, in
    /// fewer steps). A step of sampled tokens takes the drafts that raise its expected tokens
    /// per millisecond on this CPU (timed at start; on a 2-core EPYC: a request alone two, two
    /// requests one, a session's three picks none). 0 or 1: no drafts (and no timing).
    pub draft_rows: u32,
    /// Tokens generated at most per request.
    pub max_tokens: u32,
    /// Wall-clock budget per request, from the moment the worker starts it.
    pub budget_ms: u64,
    /// Test and drill knob, 0 in production: the worker sleeps this long after decoding the
    /// prompt and after each decode of generated tokens (one a request, or a few with drafts),
    /// so an engine starved of CPU (another
    /// build on the same cores) can be reproduced for real (`tests/copy_stall.rs`). Budgets and
    /// deadlines still apply.
    pub step_delay_ms: u64,
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
    /// Tokens containing any of these characters are never sampled (foreign currency symbols
    /// and markup's angle brackets: the guardrails would reject them anyway). The store's own
    /// symbol is taken out of the list (`personalise::engine_config`). Control tokens such as
    /// the end of turn are matched by their text, which is empty, so they stay sampleable.
    pub suppressed_chars: String,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            threads: 2,
            threads_batch: 2,
            n_ctx: 2304,
            kv_layout: KvLayout::Unified,
            seq_ctx: 768,
            flash_attention: FlashAttention::Auto,
            kv_cache: KvCache::F16,
            mmap: false,
            n_batch: 512,
            n_ubatch: 128,
            prefix_slots: 4,
            parallel: 4,
            warm_parallel: 8,
            admit_per_step: 1,
            pad_outputs: kernels::default_pad_outputs(),
            draft_rows: 4,
            max_tokens: 48,
            budget_ms: 4000,
            step_delay_ms: 0,
            seed: 42,
            top_k: 20,
            temperature: 0.5,
            repeat_penalty: 1.15,
            repeat_last_n: 64,
            prefix_cache: true,
            suppressed_chars: "$€£¥<>".into(),
        }
    }
}

impl EngineConfig {
    /// Reject values llama.cpp would misbehave on.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |what: &'static str| Err(EngineError::Config(what));
        if self.threads < 1 || self.threads_batch < 1 {
            return bad("threads and threads_batch must be at least 1");
        }
        if self.n_ctx < 256 {
            return bad("n_ctx must be at least 256");
        }
        if self.seq_ctx < 256 || self.seq_ctx % 256 != 0 {
            return bad("seq_ctx must be a multiple of 256");
        }
        if self.kv_cache == KvCache::Q8_0 && self.flash_attention == FlashAttention::Off {
            return bad("kv_cache = \"q8_0\" needs flash_attention on");
        }
        if self.n_batch == 0 || self.n_ubatch == 0 || self.n_ubatch > self.n_batch {
            return bad("need 0 < n_ubatch <= n_batch");
        }
        if self.prefix_slots == 0 || self.prefix_slots > 64 {
            return bad("prefix_slots must be between 1 and 64");
        }
        if self.parallel == 0 || self.parallel > 16 {
            return bad("parallel must be between 1 and 16");
        }
        if self.warm_parallel == 0 || self.warm_parallel > 16 {
            return bad("warm_parallel must be between 1 and 16");
        }
        if self.pad_outputs > 16 {
            return bad("pad_outputs must be between 0 and 16");
        }
        if self.draft_rows > 16 {
            return bad("draft_rows must be between 0 and 16");
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

/// Cells a request's suffix takes at most with the built-in prompt packs (their longest is 73
/// tokens, zh-CN), beside its `max_tokens`: what [`EngineConfig::for_warm_up`] adds per request.
pub const REQUEST_CELLS: u32 = 96;

/// Layout of the KV cache ([`EngineConfig::kv_layout`]).
///
/// llama.cpp's attention reads every cell of a cache up to the last one in use, whichever
/// sequence owns it: in one cache shared by four resident prefixes (about 1,700 cells) and the
/// requests in flight, a request's tokens are multiplied by the other prefixes' cells too and
/// masked out afterwards (flash attention skips masked cells, but takes a suffix's query rows one
/// at a time). With a cache per sequence a token reads only its own request's cells (about 500),
/// which lets attention run as matrix products: on a 2-core x86 CPU with AVX-512 a cached
/// prompt's suffix decoded about a third faster (README § Measured figures). But a decoding step
/// without flash attention is slower (a step of one sequence 14.9 against 10.8 ms, of three 27.8
/// against 24.4, in one sitting), so a whole blurb takes as long and a session's three picks
/// longer: `unified` stays the default. The split layout also costs memory: every working
/// sequence holds a copy of its prefix instead of sharing one (and the saved prefixes are a copy
/// more), and a request's first tokens are never shared with another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvLayout {
    /// A cache of `seq_ctx` cells per working sequence (llama.cpp's non-unified KV cache); each
    /// keeps the prefix of its last request, and up to `prefix_slots` decoded prefixes are kept
    /// as saved cells in memory, restored into a sequence that needs one it does not hold.
    Split,
    /// One cache of `n_ctx` cells: prefixes in sequences of their own, shared into the working
    /// sequences cell for cell.
    Unified,
}

/// llama.cpp's flash attention ([`EngineConfig::flash_attention`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashAttention {
    Auto,
    On,
    Off,
}

impl EngineConfig {
    /// Whether the context is created with flash attention ([`EngineConfig::flash_attention`]).
    pub fn uses_flash_attention(&self) -> bool {
        match self.flash_attention {
            FlashAttention::On => true,
            FlashAttention::Off => false,
            FlashAttention::Auto => {
                self.kv_cache == KvCache::Q8_0 || self.kv_layout == KvLayout::Unified
            }
        }
    }
}

/// Element type of the KV cache ([`EngineConfig::kv_cache`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KvCache {
    F16,
    Q8_0,
}

impl EngineConfig {
    /// Rows of logits a decode computes for `outputs` requests in flight: `outputs` itself when
    /// padding is off or at most two requests run, else rounded up to a multiple of
    /// [`EngineConfig::pad_outputs`].
    pub fn padded_outputs(&self, outputs: usize) -> usize {
        let multiple = self.pad_outputs as usize;
        if multiple <= 1 || outputs <= 2 {
            outputs
        } else {
            outputs.div_ceil(multiple) * multiple
        }
    }

    /// The engine of `copy warm`: `warm_parallel` requests in flight (never fewer than
    /// `parallel`), the unified layout's context grown by [`REQUEST_CELLS`] for each one added
    /// (with the split layout each has its own `seq_ctx` cells), and the budget
    /// grown in proportion to the requests in flight: each request has the share of the steps it
    /// would have at the kiosk (nobody waits for warm-up copy; copy cut by the budget is never
    /// stored, and the kiosk's budget with twice the requests in flight cut a third of a
    /// warm-up to templates on a slow day).
    pub fn for_warm_up(&self) -> Self {
        let parallel = self.parallel.max(self.warm_parallel);
        let added = parallel - self.parallel;
        Self {
            parallel,
            n_ctx: self
                .n_ctx
                .saturating_add(added.saturating_mul(REQUEST_CELLS + self.max_tokens)),
            budget_ms: self
                .budget_ms
                .saturating_mul(u64::from(parallel))
                .div_ceil(u64::from(self.parallel.max(1))),
            ..self.clone()
        }
    }

    /// Sequences the context holds: the working ones and the scratch sequence of padding rows,
    /// and with the unified layout the prefixes' (the split layout keeps them in the working
    /// sequences, and has no scratch sequence without padding).
    pub fn sequences(&self) -> u32 {
        match self.kv_layout {
            KvLayout::Unified => self.parallel + self.prefix_slots + 1,
            KvLayout::Split => self.parallel + u32::from(self.pad_outputs > 1),
        }
    }

    /// The KV cells the context is created with: `n_ctx` for the unified layout, `seq_ctx` for
    /// each sequence for the split one.
    pub fn context_cells(&self) -> u32 {
        match self.kv_layout {
            KvLayout::Unified => self.n_ctx,
            KvLayout::Split => self.seq_ctx.saturating_mul(self.sequences()),
        }
    }
}

/// Errors of the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] ManifestError),
    #[error("invalid engine config: {0}")]
    Config(&'static str),
    #[cfg(feature = "llama")]
    #[error("llama.cpp backend: {0}")]
    Backend(#[source] llama_cpp_2::LlamaCppError),
    /// This build has no copy engine (the crate's `llama` feature was off).
    #[error("this shelftalk was built without the copy engine (cargo feature `llama`)")]
    NotBuilt,
    /// llama.cpp in this binary was compiled with instructions this CPU lacks
    /// ([`kernels`](self) module): started anyway, it would die of an illegal instruction.
    #[error("llama.cpp in this binary was compiled with {kernels} kernels, but this CPU lacks {missing}: build shelftalk on this machine (`make build` picks its kernels) or, for any x86-64-v3 CPU, with `cargo build` and no GGML_AVX512* variables set")]
    Kernels { kernels: String, missing: String },
    #[error("llama.cpp backend: cannot spawn worker thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// No engine yet: the model loads in the background.
    #[error("llama.cpp backend: the model is still loading")]
    Loading,
    #[cfg(feature = "llama")]
    #[error("cannot load model {path}: {source}")]
    Load {
        path: PathBuf,
        #[source]
        source: llama_cpp_2::LlamaModelLoadError,
    },
    #[cfg(feature = "llama")]
    #[error("cannot create llama.cpp context: {0}")]
    Context(#[source] llama_cpp_2::LlamaContextLoadError),
    #[error("request has an empty prompt suffix")]
    EmptyPrompt,
    #[error("prompt of {tokens} tokens plus {max_tokens} to generate does not fit the context of {n_ctx} tokens")]
    PromptTooLong {
        tokens: usize,
        max_tokens: u32,
        n_ctx: u32,
    },
    /// llama.cpp refused a step of prompt decoding or generation; the KV cache is reset.
    #[error("llama.cpp decode failed: {step}: {source} (retryable)")]
    Decode {
        /// What the worker was doing.
        step: &'static str,
        #[source]
        source: DecodeFailure,
    },
    #[error("the engine worker has stopped (retryable after restarting the engine)")]
    WorkerGone,
    /// The request's deadline passed before the engine finished (or started) it; the caller
    /// stopped waiting, which cancels the request.
    #[error("the copy's deadline passed before the engine answered")]
    OutOfTime,
}

impl EngineError {
    /// Whether the same request may succeed if sent again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Decode { .. } | Self::WorkerGone)
    }
}

/// What llama.cpp (or a position conversion) refused; the source of [`EngineError::Decode`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeFailure {
    #[cfg(feature = "llama")]
    #[error("{0}")]
    Batch(#[from] llama_cpp_2::llama_batch::BatchAddError),
    #[cfg(feature = "llama")]
    #[error("{0}")]
    Decode(#[from] llama_cpp_2::DecodeError),
    #[cfg(feature = "llama")]
    #[error("{0}")]
    KvCache(#[from] llama_cpp_2::context::kv_cache::KvCacheConversionError),
    #[error("{0}")]
    Sequence(#[from] std::num::TryFromIntError),
    #[cfg(feature = "llama")]
    #[error("{0}")]
    State(#[from] llama_cpp_2::StateSeqError),
    /// The decode of a batch this request shared with others failed (the message of the
    /// failure, given to every request in the batch).
    #[error("{0}")]
    Shared(String),
    #[error("position {pos}: {source}")]
    Position {
        pos: usize,
        #[source]
        source: std::num::TryFromIntError,
    },
}

impl DecodeFailure {
    /// Wraps the failure as the [`EngineError`] of `step`.
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
    pub(crate) fn during<E: Into<Self>>(step: &'static str) -> impl FnOnce(E) -> EngineError {
        move |e| EngineError::Decode {
            step,
            source: e.into(),
        }
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
    /// With `allowed_numbers`: money amounts must also be true in the role the words before
    /// them give (`now ₹…` the price, `was ₹…` the list price, `save ₹…` the saving).
    pub money_roles: Option<crate::numbers::MoneyRoles>,
    /// With `allowed_numbers`: phrases the copy may not contain (whole words, any case; Chinese
    /// as written): the token that would complete one is resampled (the guardrails' banned
    /// phrases and absolute claims, [`crate::copy::guardrails::GuardrailConfig::barred_phrases`]).
    pub barred_phrases: Vec<String>,
    /// With `allowed_numbers`: the copy may not end (end of text or a newline) before it has one
    /// of these words (the product's content words, sorted: the guardrails' on-topic rule,
    /// [`crate::copy::guardrails::topic_words`]); empty lets it end off topic.
    pub topic_words: Vec<String>,
    /// With `allowed_numbers`: the copy may not end (end of text or a newline) before it has
    /// this many characters and words (the guardrails' minimum length); `(0, 0)` lets it end
    /// anywhere.
    pub min_length: (usize, usize),
    /// With `allowed_numbers`: the words the copy may open with in lowercase (the product's own
    /// `iPhone`, `realme`: [`crate::copy::guardrails::lowercase_openers`]); any other opening
    /// letter that has a case is a capital.
    pub lowercase_openers: Vec<String>,
    /// With `allowed_numbers`: the repetition rule for the product's copy
    /// ([`crate::copy::guardrails::Repeats`]); no token is written that would break it. The
    /// default has no facts to say anything again.
    pub repeats: Repeats,
    /// With `allowed_numbers`: characters the copy may not have
    /// ([`crate::copy::guardrails::StrayChars`]); no token that writes one, whole or in bytes, is
    /// sampled. The default refuses none.
    pub stray_chars: StrayChars,
    /// With `allowed_numbers`: the guardrails' share of letters
    /// ([`crate::copy::guardrails::LetterShare`]); once the copy is long enough to end, no token
    /// that would take it under the share is sampled. The default holds for any copy.
    pub letter_share: LetterShare,
    /// With `allowed_numbers`: the guardrails' rule on amounts in words
    /// ([`crate::copy::guardrails::AmountWords`]); no token that would complete one (`a few
    /// dollars`) is sampled. The default finds none.
    pub amount_words: AmountWords,
    /// With `allowed_numbers`: the guardrails' rule on places
    /// ([`crate::copy::guardrails::PlaceNames`]); no token that would name one the facts lack
    /// (`…available at Sephara`, `…, from the Himalayas`) is sampled. The default finds none.
    pub place_names: PlaceNames,
    /// Claims in words the facts do not back ([`crate::copy::guardrails::WordClaims`]: `up to
    /// an hour`, `the best … ever`): no token that would make one is written.
    pub word_claims: WordClaims,
    /// The whole piece of copy is due by then (the screen's deadline, queueing included):
    /// generation stops there as at the budget ([`StopReason::Budget`]), and a request that
    /// starts after it decodes nothing.
    pub deadline: Option<Instant>,
}

impl GenerationRequest {
    /// A request for `prefix` + `suffix` with `seed` and the engine's defaults for the rest: its
    /// `max_tokens`, prefix cache and temperature, numbers free, no deadline.
    pub fn new(prefix: Arc<str>, suffix: String, seed: u32) -> Self {
        Self {
            prefix,
            suffix,
            seed,
            max_tokens: None,
            prefix_cache: None,
            temperature: None,
            allowed_numbers: None,
            money_roles: None,
            barred_phrases: Vec::new(),
            topic_words: Vec::new(),
            min_length: (0, 0),
            lowercase_openers: Vec::new(),
            repeats: Repeats::default(),
            stray_chars: StrayChars::default(),
            letter_share: LetterShare::default(),
            amount_words: AmountWords::default(),
            place_names: PlaceNames::default(),
            word_claims: WordClaims::default(),
            deadline: None,
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model ended its line.
    EndOfLine,
    /// The model wrote its end-of-text token.
    EndOfText,
    /// The request's `max_tokens` were written.
    MaxTokens,
    /// The time budget or the request's deadline ran out.
    Budget,
    /// The generation gate refused every token drawn for a step and had nothing left to take
    /// back: the copy stops where the gate left it, not where the model would have ended it
    /// (`…with organic cotton and a relaxed`, the demo, seed 653).
    DeadEnd,
}

impl StopReason {
    /// Whether the copy stopped before the model ended it: the token limit or the gate's dead
    /// end (the budget ends a request as out of time instead).
    pub fn cut_short(self) -> bool {
        matches!(self, Self::MaxTokens | Self::DeadEnd)
    }
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
    /// Time in `llama_decode` for the generated tokens, the rest of generation being sampling,
    /// the number gate and streaming: the decode limit of the same steps. A decode shared with
    /// other requests counts whole.
    #[serde(default)]
    pub decode_ms: f64,
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
    /// The events that arrive before `deadline` (all of them when `None`); when it passes first,
    /// one [`EngineError::OutOfTime`] ends the iteration. Dropping the iterator cancels the
    /// request.
    pub fn until(self, deadline: Option<Instant>) -> impl Iterator<Item = StreamEvent> {
        let mut over = false;
        std::iter::from_fn(move || {
            if over {
                return None;
            }
            let Some(deadline) = deadline else {
                return self.rx.recv().ok();
            };
            let wait = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(wait) {
                Ok(event) => Some(event),
                Err(mpsc::RecvTimeoutError::Disconnected) => None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    over = true;
                    Some(StreamEvent::Error(EngineError::OutOfTime))
                }
            }
        })
    }

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
    /// Suffix tokens a request took from another in flight with the same prefix and the same
    /// first suffix tokens (one product's record for several shoppers): decoded once for both.
    #[serde(default)]
    pub shared_tokens: u64,
    /// Prefixes restored from their saved cells into a working sequence that did not hold them
    /// (split layout, [`KvLayout`]).
    #[serde(default)]
    pub prefix_restores: u64,
    /// Draft tokens decoded beside a sampled one (`EngineConfig::draft_rows`), and of them
    /// those the model then sampled itself (steps saved).
    #[serde(default)]
    pub drafted_tokens: u64,
    #[serde(default)]
    pub accepted_drafts: u64,
    /// Dead ends the gate met (every token drawn for a step refused): taken back by a rewind,
    /// or ending the copy there.
    #[serde(default)]
    pub rewinds: u64,
    #[serde(default)]
    pub dead_end_stops: u64,
    /// Lone spaces taken back because what the model reached for after one was refused.
    #[serde(default)]
    pub space_rewinds: u64,
    /// Amounts in words taken back (`…only a few` before ` dollars`: the gate's
    /// `NumberGate::words_rewind`).
    #[serde(default)]
    pub words_rewinds: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    completed: AtomicU64,
    cancelled: AtomicU64,
    failed: AtomicU64,
    generated_tokens: AtomicU64,
    prefix_decodes: AtomicU64,
    shared_tokens: AtomicU64,
    prefix_restores: AtomicU64,
    drafted_tokens: AtomicU64,
    accepted_drafts: AtomicU64,
    rewinds: AtomicU64,
    dead_end_stops: AtomicU64,
    space_rewinds: AtomicU64,
    words_rewinds: AtomicU64,
}

impl Counters {
    #[cfg_attr(not(feature = "llama"), allow(dead_code))]
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
    /// The CPU kernels llama.cpp was compiled with, e.g. `AVX2 + AVX-512 + VNNI`.
    pub kernels: String,
    /// Steps timed when the engine started, for drafts ([`EngineConfig::draft_rows`]).
    #[serde(default)]
    pub draft_timing: DraftTiming,
}

/// What a step of 1, 2, … rows took when the engine started, and so how many drafts a step of
/// that many sampled tokens takes when one request offers them (empty with drafts off).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DraftTiming {
    pub step_ms: Vec<f64>,
    pub drafts_by_rows: Vec<usize>,
}

type Sink = Box<dyn FnMut(StreamEvent) -> bool + Send>;

#[cfg_attr(not(feature = "llama"), allow(dead_code))]
struct Job {
    request: GenerationRequest,
    submitted: Instant,
    sink: Sink,
}

/// One width of the bare decode loop ([`EngineHandle::decode_widths`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WidthFigure {
    /// Sequences decoded together: one token of each per step, logits for every one.
    pub width: u32,
    /// Steps timed (one `llama_decode` each).
    pub steps: u32,
    /// Time per step, p50 over the steps.
    pub step_ms: f64,
    /// Tokens per second over all sequences, from the p50 step.
    pub tokens_per_sec: f64,
}

/// What the worker is asked to do.
#[cfg_attr(not(feature = "llama"), allow(dead_code))]
enum Work {
    Generate(Box<Job>),
    /// The bare decode loop at each width, over a shared context of `context` tokens.
    Widths {
        widths: Vec<u32>,
        steps: u32,
        context: u32,
        reply: Sender<Result<Vec<WidthFigure>, EngineError>>,
    },
    /// Cancel every request, free the context and the model, then say so
    /// ([`EngineHandle::stop`]).
    Stop(Sender<()>),
}

/// A cloneable handle to the engine worker. The worker stops when the last handle is dropped or
/// at [`EngineHandle::stop`].
#[derive(Clone)]
pub struct EngineHandle {
    jobs: Sender<Work>,
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
        Self::spawn_worker(model_path, manifest, config)
    }

    #[cfg(not(feature = "llama"))]
    fn spawn_worker(_: &Path, _: &Manifest, _: EngineConfig) -> Result<Self, EngineError> {
        Err(EngineError::NotBuilt)
    }

    #[cfg(feature = "llama")]
    fn spawn_worker(
        model_path: &Path,
        manifest: &Manifest,
        config: EngineConfig,
    ) -> Result<Self, EngineError> {
        let missing = kernels::missing();
        if !missing.is_empty() {
            return Err(EngineError::Kernels {
                kernels: kernels::description(),
                missing: missing.join(", "),
            });
        }
        let backend = worker::backend()?;
        let (jobs, job_rx) = mpsc::channel::<Work>();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(u32, DraftTiming), EngineError>>();
        let counters = Arc::new(Counters::default());
        let worker_counters = Arc::clone(&counters);
        let path = model_path.to_path_buf();
        let worker_config = config.clone();
        std::thread::Builder::new()
            .name("shelftalk-llama".into())
            .spawn(move || {
                worker::worker_main(
                    backend,
                    &path,
                    worker_config,
                    job_rx,
                    ready_tx,
                    worker_counters,
                )
            })
            .map_err(EngineError::Spawn)?;
        let (n_ctx, draft_timing) = ready_rx.recv().map_err(|_| EngineError::WorkerGone)??;
        Ok(Self {
            jobs,
            counters,
            info: Arc::new(EngineInfo {
                model: manifest.name.clone(),
                path: model_path.to_path_buf(),
                n_ctx,
                config,
                kernels: kernels::description(),
                draft_timing,
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
            shared_tokens: get(&c.shared_tokens),
            prefix_restores: get(&c.prefix_restores),
            drafted_tokens: get(&c.drafted_tokens),
            accepted_drafts: get(&c.accepted_drafts),
            rewinds: get(&c.rewinds),
            dead_end_stops: get(&c.dead_end_stops),
            space_rewinds: get(&c.space_rewinds),
            words_rewinds: get(&c.words_rewinds),
        }
    }

    /// Stops the worker: requests in flight and waiting end with [`EngineError::WorkerGone`], and
    /// the context and model are freed on the worker's thread. Waits up to `wait` for that (a step
    /// of decoding at most, well under a second) and says whether it happened. Call it before the
    /// process exits: a llama.cpp thread still decoding while the C++ runtime tears down at exit
    /// can crash the process (the likely cause of a SIGSEGV once seen on SIGTERM mid-generation).
    /// Requests after it fail.
    pub fn stop(&self, wait: Duration) -> bool {
        let (tx, rx) = mpsc::channel();
        if self.jobs.send(Work::Stop(tx)).is_err() {
            return true;
        }
        match rx.recv_timeout(wait) {
            Ok(()) => true,
            // The worker dropped the acknowledgement: it is gone already.
            Err(mpsc::RecvTimeoutError::Disconnected) => true,
            Err(mpsc::RecvTimeoutError::Timeout) => false,
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
            .send(Work::Generate(Box::new(Job {
                request,
                submitted: Instant::now(),
                sink: Box::new(sink),
            })))
            .map_err(|_| EngineError::WorkerGone)
    }

    /// The bare decode loop, the limit generation is measured against: for each width, that many
    /// sequences share a context of `context` tokens, then `steps` decodes each add one token to
    /// every sequence with logits for all (no sampling, no gate). Runs once no request is in
    /// flight; requests submitted meanwhile wait for it. The KV cache is emptied (prefixes are
    /// decoded again on their next use). A width above the context's sequences is refused.
    pub fn decode_widths(
        &self,
        widths: &[u32],
        steps: u32,
        context: u32,
    ) -> Result<Vec<WidthFigure>, EngineError> {
        let (reply, answer) = mpsc::channel();
        self.jobs
            .send(Work::Widths {
                widths: widths.to_vec(),
                steps,
                context,
                reply,
            })
            .map_err(|_| EngineError::WorkerGone)?;
        answer.recv().map_err(|_| EngineError::WorkerGone)?
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[cfg(feature = "llama")]
    #[test]
    fn decode_errors_are_retryable_and_chain_llama_cpp_errors() {
        use std::error::Error as _;
        let err =
            DecodeFailure::during("decoding the prompt")(llama_cpp_2::DecodeError::NoKvCacheSlot);
        assert!(err.is_retryable());
        let text = err.to_string();
        assert!(text.contains("decoding the prompt"), "{text}");
        assert!(text.contains("NoKvCacheSlot"), "{text}");
        let failure = err.source().unwrap();
        assert!(failure.downcast_ref::<DecodeFailure>().is_some());
        let cause = failure.source().unwrap();
        assert_eq!(
            cause.downcast_ref::<llama_cpp_2::DecodeError>(),
            Some(&llama_cpp_2::DecodeError::NoKvCacheSlot)
        );

        let err = EngineError::Decode {
            step: "placing a token",
            source: DecodeFailure::Position {
                pos: usize::MAX,
                source: i32::try_from(usize::MAX).unwrap_err(),
            },
        };
        assert!(err.to_string().contains(&usize::MAX.to_string()));
        let cause = err.source().and_then(|f| f.source()).unwrap();
        assert!(cause.downcast_ref::<std::num::TryFromIntError>().is_some());

        assert!(!EngineError::Loading.is_retryable());
        assert!(EngineError::Loading.to_string().contains("still loading"));
    }

    #[test]
    fn outputs_are_padded_only_above_two() {
        let c = EngineConfig {
            pad_outputs: 4,
            ..EngineConfig::default()
        };
        let padded: Vec<usize> = (0..=9).map(|n| c.padded_outputs(n)).collect();
        assert_eq!(padded, [0, 1, 2, 4, 4, 8, 8, 8, 8, 12]);
        let off = EngineConfig {
            pad_outputs: 1,
            ..EngineConfig::default()
        };
        assert!((0..=9).all(|n| off.padded_outputs(n) == n));
        let unified = |c: &EngineConfig| EngineConfig {
            kv_layout: KvLayout::Unified,
            ..c.clone()
        };
        assert_eq!(
            unified(&off).sequences(),
            off.parallel + off.prefix_slots + 1
        );
        assert_eq!(unified(&off).context_cells(), off.n_ctx);
        // Split: a cache per working sequence, plus the scratch one only when padding.
        let split = |c: &EngineConfig| EngineConfig {
            kv_layout: KvLayout::Split,
            ..c.clone()
        };
        assert_eq!(split(&off).sequences(), off.parallel);
        assert_eq!(split(&c).sequences(), c.parallel + 1);
        assert_eq!(split(&off).context_cells(), off.seq_ctx * off.parallel);
        let warm = c.for_warm_up();
        assert_eq!(warm.parallel, c.warm_parallel);
        assert_eq!(
            warm.n_ctx,
            c.n_ctx + (c.warm_parallel - c.parallel) * (REQUEST_CELLS + c.max_tokens)
        );
        // Eight in flight where the kiosk has four: twice the kiosk's budget.
        assert_eq!(
            warm.budget_ms,
            c.budget_ms * u64::from(c.warm_parallel) / u64::from(c.parallel)
        );
        assert_eq!((c.parallel, c.warm_parallel, warm.budget_ms), (4, 8, 8000));
        let narrow = EngineConfig {
            warm_parallel: 1,
            ..EngineConfig::default()
        };
        assert_eq!(narrow.for_warm_up(), narrow, "never fewer than parallel");
        let too_many = EngineConfig {
            pad_outputs: 17,
            ..EngineConfig::default()
        };
        assert!(too_many.validate().is_err());
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
        let c: EngineConfig = toml::from_str("kv_layout = \"unified\"\nseq_ctx = 1024").unwrap();
        assert_eq!((c.kv_layout, c.seq_ctx), (KvLayout::Unified, 1024));
        assert_eq!(EngineConfig::default().kv_layout, KvLayout::Unified);
        // Flash attention: on by default, off by default only for a split f16 cache.
        let with = |kv_layout, kv_cache, flash_attention| EngineConfig {
            kv_layout,
            kv_cache,
            flash_attention,
            ..EngineConfig::default()
        };
        use FlashAttention::{Auto, Off, On};
        assert!(EngineConfig::default().uses_flash_attention());
        assert!(!with(KvLayout::Split, KvCache::F16, Auto).uses_flash_attention());
        assert!(with(KvLayout::Split, KvCache::Q8_0, Auto).uses_flash_attention());
        assert!(with(KvLayout::Split, KvCache::F16, On).uses_flash_attention());
        assert!(!with(KvLayout::Unified, KvCache::F16, Off).uses_flash_attention());
        assert!(with(KvLayout::Unified, KvCache::Q8_0, Off)
            .validate()
            .is_err());
        let c: EngineConfig = toml::from_str("flash_attention = \"off\"").unwrap();
        assert_eq!(c.flash_attention, Off);
        for seq_ctx in [0, 255, 700] {
            let bad = EngineConfig {
                seq_ctx,
                ..EngineConfig::default()
            };
            assert!(bad.validate().is_err(), "{seq_ctx}");
        }
    }
}
