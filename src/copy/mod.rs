//! Personalised shelf-talker copy: prompt packs, the llama.cpp engine, guardrails and the
//! template fallback.
//!
//! Flow: [`service::CopyService::write_copy`] builds a [`prompt::Prompt`] from catalog facts and
//! an [`prompt::Audience`] (the shopper's [`crate::vocab::SegmentKey`]), streams tokens from the [`engine::EngineHandle`], checks the result with
//! [`guardrails::check`], retries once with another seed, and falls back to
//! [`template::render`].
//!
//! Invariants (each submodule states its own in detail):
//! - Nothing about a shopper except coarse segment features ever reaches a prompt.
//! - Every piece of copy served passes through the guardrails; template copy is built to pass.
//! - A missing or corrupt model never stops copy from being served: the service serves templates
//!   and reports the error.
//! - llama.cpp objects live on one worker thread; callers only hold channels.

pub mod bench;
pub mod cache;
pub mod engine;
pub mod guardrails;
pub mod manifest;
pub mod prompt;
pub mod screen_gate;
pub mod service;
pub mod template;

pub use engine::{EngineConfig, EngineHandle};
pub use guardrails::{BrandList, GuardrailConfig, Reason, Verdict};
pub use manifest::Manifest;
pub use prompt::{Audience, Currency, ProductFacts, PromptBuilder, PromptPack};
pub use service::{CopyOutcome, CopyService, CopySource};
