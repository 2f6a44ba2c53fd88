//! The copy service: prompt → model → guardrails → retry → template, with verdicts counted.
//!
//! Invariants:
//! - [`CopyService::write_copy`] always returns copy: model copy that passed the guardrails, or
//!   template copy. It never panics and never blocks on a missing model.
//! - At most two model attempts per request (the second with another seed and a lower
//!   temperature); every attempt's verdict is counted under its stable code.
//! - Copy the engine's budget (or the request's deadline) cut short is never served, however
//!   it reads: it is counted as `attempt.budget`, no second attempt follows, and the template is
//!   served at once ([`Fallback::Budget`]). With a deadline, `write_copy` returns by it even
//!   when the engine has not produced a token (it stops waiting and cancels the request).
//! - Copy the engine cut short (at `max_tokens`, or at the generation gate's dead end,
//!   [`StopReason::cut_short`]) is finished only where it ends a sentence
//!   ([`unfinished_where_cut`]), else it fails as unfinished.
//! - Copy that fails as a whole but whose last whole clause passes on its own (and keeps half
//!   the text) is served ended there ([`ScreenGate::end_at_whole_clause`]); the attempt records
//!   the reason and the dropped tail ([`Cut`]) and counts as `attempt.pass` and
//!   `attempt.cut.<reason>`.
//! - Generation is constrained to the numbers of the product's facts
//!   ([`crate::copy::guardrails::allowed_numbers`]); the guardrails are still the judge.
//! - The only shopper input is an [`Audience`]; the prompt is built by [`PromptBuilder`].
//! - A request whose [`Withdrawn`] check says it is no longer wanted (its session left the
//!   screen) is not begun, or is cancelled at the next token it streams: it is answered with
//!   template copy flagged [`Fallback::Withdrawn`], at once, and counted as
//!   `attempt.withdrawn`. Nothing is shown or stored for it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::catalog::Product;
use crate::copy::engine::{
    EngineConfig, EngineError, EngineHandle, Generation, GenerationRequest, StopReason,
    StreamEvent, Timings,
};
use crate::copy::guardrails::{
    allowed_numbers, check, lowercase_openers, money_roles, topic_words, unfinished_where_cut,
    AmountWords, BrandList, GuardrailConfig, LetterShare, PlaceNames, Reason, Repeats, StrayChars,
    Verdict, WordClaims,
};
use crate::copy::manifest::Manifest;
use crate::copy::prompt::{Audience, Currency, ProductFacts, Prompt, PromptBuilder, PromptPack};
use crate::copy::screen_gate::{ScreenGate, Show};
use crate::copy::template;
use crate::vocab::{SegmentKey, Style};

/// Seed offset of the retry attempt.
const RETRY_SEED_STEP: u32 = 0x9E37_79B9;
/// The retry samples more conservatively: a cooler model copies facts rather than inventing.
const RETRY_TEMPERATURE: f32 = 0.2;

/// How a generation ended on its way through the screen gate.
enum Streamed {
    Done(Generation),
    /// The gate found a violation while streaming; the generation was cancelled.
    Stopped(Reason),
    /// The request was withdrawn while streaming; the generation was cancelled.
    Withdrawn,
}

/// Passes a generation's events through the screen gate to `on_progress`: the one path from the
/// engine to the screen. Returning early drops `events`, which cancels the generation.
fn through_gate(
    events: impl IntoIterator<Item = StreamEvent>,
    gate: &mut ScreenGate<'_>,
    withdrawn: Option<Withdrawn<'_>>,
    on_progress: &mut dyn FnMut(CopyProgress<'_>),
) -> Result<Streamed, EngineError> {
    for event in events {
        if withdrawn.is_some_and(|w| w.now()) {
            return Ok(Streamed::Withdrawn);
        }
        match event {
            StreamEvent::Token(t) => match gate.push(&t) {
                Ok(shown) if !shown.is_empty() => on_progress(CopyProgress::Token(&shown)),
                Ok(_) => {}
                Err(reason) => return Ok(Streamed::Stopped(reason)),
            },
            StreamEvent::Done(g) => return Ok(Streamed::Done(g)),
            StreamEvent::Error(e) => return Err(e),
        }
    }
    Err(EngineError::WorkerGone)
}

/// Where served copy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopySource {
    Model,
    Template,
    /// Earlier model copy from `copy::cache`.
    Cache,
}

impl CopySource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Template => "template",
            Self::Cache => "cache",
        }
    }
}

/// One model attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub seed: u32,
    pub text: String,
    /// Guardrail verdict; `None` when the engine failed before producing copy.
    pub verdict: Option<Verdict>,
    pub timings: Option<Timings>,
    /// Engine error of this attempt, if it failed before producing copy.
    pub error: Option<String>,
    /// The budget or the deadline cut this attempt short; its text is not served.
    #[serde(default)]
    pub out_of_time: bool,
    /// The whole generated text failed, and `text` is it ended at its last whole clause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<Cut>,
    /// Why the engine stopped generating, when it finished (`max_tokens`: the copy was cut at
    /// the token limit, and is served only where it ends a sentence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<StopReason>,
}

/// Why and where an attempt's copy was ended at its last whole clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    /// Why the whole text failed.
    pub reason: Reason,
    /// What followed the served clause (not served).
    pub dropped: String,
}

/// The copy served for one request and how it came about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CopyOutcome {
    pub text: String,
    pub style: Style,
    pub source: CopySource,
    /// Verdict of the served text.
    pub verdict: Verdict,
    /// Model attempts made (empty when the model is unavailable).
    pub attempts: Vec<Attempt>,
    /// Timings of the served model attempt.
    pub timings: Option<Timings>,
    /// Wall time of the whole request.
    pub elapsed_ms: f64,
    /// Why the model could not be used at all (missing or corrupt model).
    pub engine_error: Option<String>,
    /// Why template copy was served; `None` for model or cached copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
}

/// Why a request was answered with template copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// The engine's budget or the request's deadline ran out before copy was complete.
    Budget,
    /// Both attempts failed the guardrails.
    Guardrails,
    /// The engine failed (decode error, worker gone).
    Engine,
    /// No model serves (still loading, or it failed to load).
    NoModel,
    /// The request was withdrawn (its session left the screen): nobody reads this copy.
    Withdrawn,
}

impl Fallback {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Budget => "budget",
            Self::Guardrails => "guardrails",
            Self::Engine => "engine",
            Self::NoModel => "no_model",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// Progress of [`CopyService::write_copy`] for a screen that shows copy as it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyProgress<'a> {
    /// Next piece of model copy.
    Token(&'a str),
    /// Discard what was shown: that attempt failed the guardrails; more copy follows.
    Restart,
}

/// Says whether a request is no longer wanted (its session left the screen). Asked before each
/// attempt and at every token streamed; once it says yes it must keep saying so.
#[derive(Clone, Copy)]
pub struct Withdrawn<'a>(pub &'a (dyn Fn() -> bool + Sync));

impl Withdrawn<'_> {
    /// Whether the request is withdrawn now.
    pub fn now(self) -> bool {
        (self.0)()
    }
}

impl std::fmt::Debug for Withdrawn<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Withdrawn(..)")
    }
}

/// One copy request. Built only by [`CopyRequest::new`] (and [`CopyOrder::request`]), so a
/// request is assembled in one place.
#[derive(Debug, Clone, Copy)]
pub struct CopyRequest<'a> {
    pub product: &'a Product,
    pub audience: Audience<'a>,
    pub style: Style,
    pub seed: u32,
    /// Overrides the engine's prefix cache setting (benchmarks).
    pub prefix_cache: Option<bool>,
    /// The copy is due by then (the screen's deadline): model copy not complete by then is
    /// dropped for the template.
    pub deadline: Option<Instant>,
    /// When set, the request is dropped as soon as this says nobody waits for it any more.
    pub withdrawn: Option<Withdrawn<'a>>,
}

impl<'a> CopyRequest<'a> {
    pub fn new(product: &'a Product, audience: Audience<'a>, style: Style, seed: u32) -> Self {
        Self {
            product,
            audience,
            style,
            seed,
            prefix_cache: None,
            deadline: None,
            withdrawn: None,
        }
    }

    /// The same request due by `deadline` (`None`: only the engine's budget bounds it).
    pub fn with_deadline(self, deadline: Option<Instant>) -> Self {
        Self { deadline, ..self }
    }

    /// The same request, dropped once `withdrawn` says nobody waits for it any more.
    pub fn with_withdrawn(self, withdrawn: Withdrawn<'a>) -> Self {
        Self {
            withdrawn: Some(withdrawn),
            ..self
        }
    }

    /// The same request with the engine's prefix cache forced on or off (benchmarks).
    pub fn with_prefix_cache(self, on: bool) -> Self {
        Self {
            prefix_cache: Some(on),
            ..self
        }
    }
}

/// Everything one piece of copy is written from, owned: it crosses threads to the copy worker
/// and waits in the warm-up plan.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyOrder {
    pub product: Product,
    pub segment: SegmentKey,
    /// Whether the shopper buys this product's brand (see [`Audience`]).
    pub brand_fan: bool,
    pub style: Style,
    pub seed: u32,
}

impl CopyOrder {
    pub fn request(&self) -> CopyRequest<'_> {
        CopyRequest::new(
            &self.product,
            Audience {
                segment: &self.segment,
                brand_fan: self.brand_fan,
            },
            self.style,
            self.seed,
        )
    }
}

/// Builds, generates, checks and falls back. Share it behind an `Arc`.
#[derive(Debug)]
pub struct CopyService {
    engine: Result<EngineHandle, EngineError>,
    prompts: PromptBuilder,
    brands: BrandList,
    guardrails: GuardrailConfig,
    counts: Mutex<BTreeMap<String, u64>>,
}

impl CopyService {
    /// A service over an engine that started, or that failed to start (then it serves
    /// templates and reports the error).
    pub fn new(
        engine: Result<EngineHandle, EngineError>,
        pack: &PromptPack,
        currency: &Currency,
        brands: BrandList,
        guardrails: GuardrailConfig,
    ) -> Self {
        if let Err(e) = &engine {
            if !matches!(e, EngineError::Loading) {
                tracing::error!(error = %e, "language model unavailable; serving template copy");
            }
        }
        Self {
            engine,
            prompts: PromptBuilder::new(pack, currency),
            brands,
            // Copy is judged in the pack's locale (the content layer serves only a pack of the
            // kiosk's `locale`) and may not repeat its instructions.
            guardrails: guardrails.for_pack(pack),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Verify and load the model, then build the service. Never fails: a bad model means
    /// template copy and [`CopyService::engine_error`].
    pub fn start(
        model_path: &Path,
        manifest: &Manifest,
        engine: EngineConfig,
        pack: &PromptPack,
        currency: &Currency,
        brands: BrandList,
        guardrails: GuardrailConfig,
    ) -> Self {
        let handle = EngineHandle::start(model_path, manifest, engine);
        Self::new(handle, pack, currency, brands, guardrails)
    }

    pub fn engine(&self) -> Option<&EngineHandle> {
        self.engine.as_ref().ok()
    }

    /// Why the model is not used, if it is not.
    pub fn engine_error(&self) -> Option<&EngineError> {
        self.engine.as_ref().err()
    }

    pub fn prompts(&self) -> &PromptBuilder {
        &self.prompts
    }

    /// The prompt a request would use (for inspection and tests).
    pub fn prompt_for(&self, product: &Product, audience: Audience<'_>, style: Style) -> Prompt {
        let facts = self.prompts.facts(product);
        self.prompts.prompt(&facts, audience, style)
    }

    /// The facts copy for `product` is written from (and judged against).
    pub fn facts(&self, product: &Product) -> ProductFacts {
        self.prompts.facts(product)
    }

    /// The guardrails' verdict on `text` for these facts, with this service's brands and limits
    /// (cached copy is judged again before it is served).
    pub fn check(&self, text: &str, facts: &ProductFacts) -> Verdict {
        check(text, facts, &self.brands, &self.guardrails)
    }

    /// Counts since start: `attempt.<verdict code>`, `served.model`, `served.template`,
    /// `engine.error`.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn count(&self, key: &str) {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *counts.entry(key.to_string()).or_insert(0) += 1;
    }

    /// Write copy for one product, segment and style. `on_progress` sees model tokens as they
    /// are generated (and a restart when an attempt is discarded).
    pub fn write_copy(
        &self,
        request: &CopyRequest<'_>,
        on_progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> CopyOutcome {
        let started = std::time::Instant::now();
        let facts = self.prompts.facts(request.product);
        let mut attempts = Vec::new();
        let mut out_of_time = false;
        let mut withdrawn = false;
        if let Ok(engine) = &self.engine {
            let prompt = self.prompts.prompt(&facts, request.audience, request.style);
            for n in 0..2u32 {
                if n > 0 {
                    on_progress(CopyProgress::Restart);
                }
                if request.withdrawn.is_some_and(Withdrawn::now) {
                    withdrawn = true;
                    break;
                }
                if request.deadline.is_some_and(|d| Instant::now() >= d) {
                    self.count("attempt.budget");
                    out_of_time = true;
                    break;
                }
                let seed = request.seed.wrapping_add(n.wrapping_mul(RETRY_SEED_STEP));
                let Some(attempt) =
                    self.attempt(engine, &prompt, &facts, (seed, n > 0), request, on_progress)
                else {
                    withdrawn = true;
                    break;
                };
                if attempt.out_of_time {
                    // Cut short: never served, and a second attempt would be cut short too.
                    attempts.push(attempt);
                    out_of_time = true;
                    break;
                }
                let passed = attempt.verdict.as_ref().is_some_and(Verdict::is_pass);
                let timings = attempt.timings;
                let text = attempt.text.clone();
                attempts.push(attempt);
                if passed {
                    self.count("served.model");
                    return CopyOutcome {
                        text,
                        style: request.style,
                        source: CopySource::Model,
                        verdict: Verdict::Pass,
                        attempts,
                        timings,
                        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
                        engine_error: None,
                        fallback: None,
                    };
                }
            }
            on_progress(CopyProgress::Restart);
        }
        if withdrawn {
            self.count("attempt.withdrawn");
        }
        let text = template::render(&facts, request.style);
        let verdict = check(&text, &facts, &self.brands, &self.guardrails);
        if !verdict.is_pass() {
            tracing::warn!(code = verdict.code(), "template copy failed the guardrails");
        }
        self.count("served.template");
        let fallback = if withdrawn {
            Fallback::Withdrawn
        } else if out_of_time {
            Fallback::Budget
        } else if self.engine.is_err() {
            Fallback::NoModel
        } else if attempts.iter().any(|a| a.verdict.is_some()) {
            Fallback::Guardrails
        } else {
            Fallback::Engine
        };
        CopyOutcome {
            text,
            style: request.style,
            source: CopySource::Template,
            verdict,
            attempts,
            timings: None,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            engine_error: self.engine_error().map(ToString::to_string),
            fallback: Some(fallback),
        }
    }

    /// One model attempt; `None` when the request was withdrawn while it ran (the generation is
    /// cancelled and nothing is recorded: nobody waits for it).
    fn attempt(
        &self,
        engine: &EngineHandle,
        prompt: &Prompt,
        facts: &ProductFacts,
        (seed, retry): (u32, bool),
        request: &CopyRequest<'_>,
        on_progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> Option<Attempt> {
        // Tokens reach `on_progress` only through the screen gate: judged while they stream.
        let mut gate = ScreenGate::new(facts, &self.brands, &self.guardrails);
        // The facts' words, read once for the rules the engine's gate asks of every token.
        let corpus = facts.corpus();
        let generated = engine
            .generate(GenerationRequest {
                prefix: prompt.prefix.clone(),
                suffix: prompt.suffix.clone(),
                seed,
                max_tokens: None,
                prefix_cache: request.prefix_cache,
                temperature: retry.then_some(RETRY_TEMPERATURE),
                allowed_numbers: Some(allowed_numbers(facts)),
                money_roles: Some(money_roles(facts)),
                barred_phrases: self.guardrails.barred_phrases(facts),
                topic_words: topic_words(facts),
                min_length: self.guardrails.min_length(),
                lowercase_openers: lowercase_openers(facts),
                repeats: Repeats::beside(&corpus, &self.guardrails),
                stray_chars: StrayChars::beside(&corpus, &self.guardrails),
                letter_share: LetterShare::new(&self.guardrails),
                amount_words: AmountWords::beside(&corpus, &self.guardrails),
                place_names: PlaceNames::beside(&corpus, &self.guardrails),
                word_claims: WordClaims::beside(&corpus, &self.guardrails),
                deadline: request.deadline,
            })
            .and_then(|stream| {
                through_gate(
                    stream.until(request.deadline),
                    &mut gate,
                    request.withdrawn,
                    on_progress,
                )
            });
        let budget = |text: String, timings: Option<Timings>, stop: Option<StopReason>| {
            self.count("attempt.budget");
            Attempt {
                seed,
                text,
                verdict: None,
                timings,
                error: Some(
                    "the budget or the deadline ran out before the copy was complete".into(),
                ),
                out_of_time: true,
                cut: None,
                stop,
            }
        };
        let attempt = match generated {
            Ok(Streamed::Withdrawn) => return None,
            Ok(Streamed::Done(g)) if g.stop == StopReason::Budget => {
                budget(g.text, Some(g.timings), Some(g.stop))
            }
            Err(EngineError::OutOfTime) => budget(gate.text().to_string(), None, None),
            Ok(Streamed::Done(g)) => {
                let verdict = match check(&g.text, facts, &self.brands, &self.guardrails) {
                    Verdict::Pass if g.stop.cut_short() => {
                        unfinished_where_cut(&g.text).map_or(Verdict::Pass, Verdict::Fail)
                    }
                    judged => judged,
                };
                if let Verdict::Fail(reason) = verdict {
                    let ended =
                        self.end_at_whole_clause(gate, reason, seed, Some(g.timings), on_progress);
                    return Some(Attempt {
                        stop: Some(g.stop),
                        ..ended
                    });
                }
                let rest = gate.finish(&verdict);
                if !rest.is_empty() {
                    on_progress(CopyProgress::Token(&rest));
                }
                self.count(&format!("attempt.{}", verdict.code()));
                Attempt {
                    seed,
                    text: g.text,
                    verdict: Some(verdict),
                    timings: Some(g.timings),
                    error: None,
                    out_of_time: false,
                    cut: None,
                    stop: Some(g.stop),
                }
            }
            Ok(Streamed::Stopped(reason)) => {
                self.count("attempt.stopped_while_streaming");
                self.end_at_whole_clause(gate, reason, seed, None, on_progress)
            }
            Err(e) => {
                self.count("engine.error");
                Attempt {
                    seed,
                    text: String::new(),
                    verdict: None,
                    timings: None,
                    error: Some(e.to_string()),
                    out_of_time: false,
                    cut: None,
                    stop: None,
                }
            }
        };
        Some(attempt)
    }

    /// An attempt whose whole text failed for `reason`: served ended at its last whole clause
    /// when that passes, else failed for `reason`.
    fn end_at_whole_clause(
        &self,
        mut gate: ScreenGate<'_>,
        reason: Reason,
        seed: u32,
        timings: Option<Timings>,
        on_progress: &mut dyn FnMut(CopyProgress<'_>),
    ) -> Attempt {
        let whole = gate.text().to_string();
        let Some(end) = gate.end_at_whole_clause() else {
            let verdict = Verdict::Fail(reason);
            self.count(&format!("attempt.{}", verdict.code()));
            return Attempt {
                seed,
                text: whole.trim().to_string(),
                verdict: Some(verdict),
                timings,
                error: None,
                out_of_time: false,
                cut: None,
                stop: None,
            };
        };
        match &end.show {
            Show::More(more) if more.is_empty() => {}
            Show::More(more) => on_progress(CopyProgress::Token(more)),
            Show::Again(all) => {
                on_progress(CopyProgress::Restart);
                on_progress(CopyProgress::Token(all));
            }
        }
        self.count("attempt.pass");
        self.count(&format!("attempt.cut.{}", reason.code()));
        Attempt {
            seed,
            text: end.served.trim().to_string(),
            verdict: Some(Verdict::Pass),
            timings,
            error: None,
            out_of_time: false,
            cut: Some(Cut {
                reason,
                dropped: whole[end.served.len()..].trim().to_string(),
            }),
            stop: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::catalog::Minor;

    fn product() -> Product {
        Product {
            sku: "FW-1".into(),
            name: "Kestrel Trail Runner".into(),
            brand: Some("Kestrel".into()),
            category: vec!["Footwear".into(), "Running".into()],
            price: Minor(129_900),
            list_price: Some(Minor(199_900)),
            description: "Light trail shoe".into(),
            tags: vec![],
        }
    }

    /// Hostile token streams, as the engine would send them, through the path the screen's
    /// copy takes: nothing of a failing word is ever handed to `on_progress`.
    #[test]
    fn hostile_streams_never_reach_the_screen() {
        let facts = ProductFacts::new(&product(), &Currency::default());
        let brands = BrandList::new(["Kestrel", "Northloom"]);
        let config = GuardrailConfig::default();
        for (pieces, bad) in [
            (
                &["Kestrel", " beats", " Northloom", " on", " trails"][..],
                "Northloom",
            ),
            (
                &["Kestrel", " runner", " at", " shop.example.com", " now"],
                "example",
            ),
            (
                &["Kestrel,", " now", " only", " ₹", "999", ".", " Run"],
                "999",
            ),
            (
                &["Call", " +1", " 212", " 555", " 0199.", " Kestrel"],
                "0199",
            ),
        ] {
            let mut gate = ScreenGate::new(&facts, &brands, &config);
            let mut screen = String::new();
            let events = pieces
                .iter()
                .map(|p| StreamEvent::Token((*p).to_string()))
                .chain(std::iter::once(StreamEvent::Error(EngineError::WorkerGone)));
            let ended = through_gate(events, &mut gate, None, &mut |p| {
                if let CopyProgress::Token(t) = p {
                    screen.push_str(t);
                }
            });
            assert!(
                matches!(ended, Ok(Streamed::Stopped(_))),
                "{pieces:?} not stopped"
            );
            assert!(
                !screen.contains(bad),
                "{bad} reached the screen: {screen:?}"
            );
        }
    }

    /// A withdrawn request's stream ends at the next token, before it reaches the screen: the
    /// pieces shown are those streamed while the request was still wanted.
    #[test]
    fn a_withdrawn_request_stops_streaming_at_the_next_token() {
        let facts = ProductFacts::new(&product(), &Currency::default());
        let (brands, config) = (BrandList::new(["Kestrel"]), GuardrailConfig::default());
        let mut gate = ScreenGate::new(&facts, &brands, &config);
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let gone = || seen.load(std::sync::atomic::Ordering::SeqCst) >= 2;
        let events = ["Kestrel", " runner,", " light", " and", " quick."]
            .iter()
            .map(|p| {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                StreamEvent::Token((*p).to_string())
            });
        let mut screen = String::new();
        let ended = through_gate(events, &mut gate, Some(Withdrawn(&gone)), &mut |p| {
            if let CopyProgress::Token(t) = p {
                screen.push_str(t);
            }
        });
        assert!(matches!(ended, Ok(Streamed::Withdrawn)));
        assert!(
            !screen.contains("runner"),
            "a token after the withdrawal was shown: {screen:?}"
        );
    }

    /// A stream stopped at a wrong price is served ended at its last whole clause when that
    /// keeps half the copy; the screen ends up showing exactly the served copy, and the
    /// attempt says what was dropped and why.
    #[test]
    fn a_stopped_stream_is_served_up_to_its_last_whole_clause() {
        let facts = ProductFacts::new(&product(), &Currency::default());
        let service = CopyService::new(
            Err(EngineError::WorkerGone),
            &PromptPack::builtin().unwrap(),
            &Currency::default(),
            BrandList::new(["Kestrel", "Northloom"]),
            GuardrailConfig::default(),
        );
        let mut gate = ScreenGate::new(&facts, &service.brands, &service.guardrails);
        let mut screen = String::new();
        let mut on_progress = |p: CopyProgress<'_>| match p {
            CopyProgress::Token(t) => screen.push_str(t),
            CopyProgress::Restart => screen.clear(),
        };
        let pieces = [
            "Kestrel Trail Runner:",
            " light trail shoe,",
            " now ₹1299.",
            " Was",
            " ₹999.",
            " Run",
        ];
        let events = pieces
            .iter()
            .map(|p| StreamEvent::Token((*p).to_string()))
            .chain(std::iter::once(StreamEvent::Error(EngineError::WorkerGone)));
        let Ok(Streamed::Stopped(reason)) = through_gate(events, &mut gate, None, &mut on_progress)
        else {
            panic!("the wrong was-price was not stopped");
        };
        let attempt = service.end_at_whole_clause(gate, reason.clone(), 7, None, &mut on_progress);
        assert_eq!(
            attempt.text,
            "Kestrel Trail Runner: light trail shoe, now ₹1299."
        );
        assert_eq!(attempt.verdict, Some(Verdict::Pass));
        assert_eq!(screen, attempt.text);
        let cut = attempt.cut.unwrap();
        assert_eq!(
            (cut.reason, cut.dropped.as_str()),
            (reason.clone(), "Was ₹999. Run")
        );
        let counts = service.counts();
        assert_eq!(counts.get("attempt.pass"), Some(&1));
        assert_eq!(
            counts.get(&format!("attempt.cut.{}", reason.code())),
            Some(&1)
        );
    }
}
